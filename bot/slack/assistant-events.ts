// The assistant in Slack: app mentions and direct messages. Bolt acknowledges events before
// listeners run, so the model's latency never meets Slack's 3-second limit.
import type { WebClient } from "@slack/web-api";
import type { KnownBlock } from "@slack/types";
import type { AssistantAnswer } from "../../core/assistant/assistant";
import { claimSlackEvent } from "../../core/staff/ticket-desk";
import { context, HELP_TEXT, section } from "./blocks";
import type { SlackDeps } from "./deps";
import { STAFF_ONLY_TEXT } from "./staff-guard";

/** Answers longer than this go into a thread under the question. */
export const LONG_ANSWER_CHARS = 600;

export interface Question {
  user: string;
  channel: string;
  text: string;
  ts: string;
  threadTs?: string;
  eventId?: string;
  isDirect: boolean;
}

/** Strips the app's mention and Slack markup from a question. */
export function questionText(text: string): string {
  return text
    .replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .trim();
}

function answerBlocks(answer: AssistantAnswer): KnownBlock[] {
  const chunks = answer.answer.match(/[\s\S]{1,2900}(\n|$)|[\s\S]{1,2900}/g) ?? [answer.answer];
  const tools = [...new Set(answer.toolCalls.map((c) => c.tool))];
  const footer = [
    tools.length ? `Tools: ${tools.map((t) => `\`${t}\``).join(", ")}` : "No tools called",
    `${(answer.latencyMs / 1000).toFixed(1)} s`,
    answer.tokens.prompt + answer.tokens.completion > 0
      ? `${answer.tokens.prompt + answer.tokens.completion} tokens`
      : null,
  ].filter(Boolean);
  return [...chunks.slice(0, 45).map((c) => section(c)), context(footer.join(" · "))];
}

/** Checks staff, asks the assistant, posts the answer (in a thread when it is long). */
export async function answerQuestion(deps: SlackDeps, client: WebClient, q: Question): Promise<void> {
  if (q.eventId && !(await claimSlackEvent(deps.db, q.eventId))) return;
  const decision = await deps.guard.check(q.user, q.channel);
  if (!decision.allowed) {
    if (q.isDirect) await client.chat.postMessage({ channel: q.channel, text: STAFF_ONLY_TEXT });
    else await client.chat.postEphemeral({ channel: q.channel, user: q.user, text: STAFF_ONLY_TEXT });
    return;
  }
  const question = questionText(q.text);
  if (!question) {
    await client.chat.postMessage({ channel: q.channel, thread_ts: q.threadTs, text: HELP_TEXT });
    return;
  }
  const answer = await deps.assistant.ask(question, { user: q.user, channel: q.channel });
  const long = answer.answer.length > LONG_ANSWER_CHARS;
  const threadTs = q.threadTs ?? (long ? q.ts : undefined);
  await client.chat.postMessage({
    channel: q.channel,
    ...(threadTs ? { thread_ts: threadTs } : {}),
    text: answer.answer.slice(0, 39_000),
    blocks: answerBlocks(answer),
    unfurl_links: false,
  });
}
