// The assistant in Slack: app mentions and direct messages. Bolt acknowledges events before
// listeners run, so the model's latency never meets Slack's 3-second limit. Staff see
// "Thinking…" at once where the answer will be, and the answer replaces it. In a channel the
// answer goes in the question's thread, where a follow-up is asked with the earlier turns.
import type { WebClient } from "@slack/web-api";
import type { KnownBlock } from "@slack/types";
import { DIRECT_THREAD, type AssistantAnswer } from "../../core/assistant/assistant";
import { claimSlackEvent } from "../../core/staff/ticket-desk";
import { scrubContacts } from "../../core/assistant/pii";
import { context, HELP_TEXT, section } from "./blocks";
import { esc } from "./safe-text";
import type { SlackDeps } from "./deps";
import { STAFF_ONLY_TEXT } from "./staff-guard";

/** Shown where the answer will be until it replaces it. */
export const THINKING_TEXT = "_Thinking…_";

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

/**
 * Where an answer is posted decides what it may hold: a direct message and the staff channels
 * (SLACK_STAFF_CHANNEL, SLACK_TICKETS_CHANNEL) are private; any other channel is not.
 */
export function isPrivatePlace(deps: Pick<SlackDeps, "config">, q: Pick<Question, "channel" | "isDirect">): boolean {
  const { staffChannel, ticketsChannel } = deps.config.slack;
  return q.isDirect || q.channel.startsWith("D") || q.channel === staffChannel || q.channel === ticketsChannel;
}

/** Said in a non-private channel when the answer holds personal data. */
export const SENT_PRIVATELY_TEXT =
  "The answer contains customers' personal data, so I sent it to you in a direct message with the app.";

function answerBlocks(answer: AssistantAnswer, text: string): KnownBlock[] {
  const chunks = text.match(/[\s\S]{1,2900}(\n|$)|[\s\S]{1,2900}/g) ?? [text];
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

/**
 * Checks staff, shows "Thinking…" where the answer goes (the question's thread in a channel; the
 * direct message itself, or its thread), asks the assistant with the thread's earlier turns, and
 * replaces the placeholder with the answer.
 */
export async function answerQuestion(deps: SlackDeps, client: WebClient, q: Question): Promise<void> {
  if (q.eventId && !(await claimSlackEvent(deps.db, q.eventId))) return;
  const decision = await deps.guard.check(q.user, q.channel);
  if (!decision.allowed) {
    if (q.isDirect) await client.chat.postMessage({ channel: q.channel, text: STAFF_ONLY_TEXT });
    else await client.chat.postEphemeral({ channel: q.channel, user: q.user, text: STAFF_ONLY_TEXT });
    return;
  }
  const threadTs = q.isDirect ? q.threadTs : (q.threadTs ?? q.ts);
  const place = { channel: q.channel, ...(threadTs ? { thread_ts: threadTs } : {}) };
  const question = questionText(q.text);
  if (!question) {
    await client.chat.postMessage({ ...place, text: HELP_TEXT });
    return;
  }
  const placeholder = await client.chat.postMessage({ ...place, text: THINKING_TEXT }).catch((error: unknown) => {
    deps.log.warn({ err: error instanceof Error ? error.message : String(error) }, "could not show Thinking…");
    return undefined;
  });
  /** Replaces the placeholder (or, without one, posts) with the final message. */
  const finish = async (message: { text: string; blocks?: KnownBlock[] }) => {
    const body = { ...message, unfurl_links: false, unfurl_media: false };
    if (placeholder?.ts) await client.chat.update({ channel: q.channel, ts: placeholder.ts, ...body });
    else await client.chat.postMessage({ ...place, ...body });
  };
  const answer = await deps.assistant.ask(question, {
    user: q.user,
    channel: q.channel,
    thread: threadTs ?? DIRECT_THREAD,
  });
  // The model's words are untrusted like customers' (it may quote a complaint): escaped always.
  const text = esc(answer.answer, deps.config.slack.linkHosts);
  const personal = (answer.disclosed?.length ?? 0) > 0 || scrubContacts(answer.answer) !== answer.answer;
  if (personal && !isPrivatePlace(deps, q)) {
    // The full answer goes to the asker alone; the channel learns only where it went.
    await client.chat.postMessage({
      channel: q.user,
      text: text.slice(0, 39_000),
      blocks: answerBlocks(answer, text),
      unfurl_links: false,
      unfurl_media: false,
    });
    await finish({ text: SENT_PRIVATELY_TEXT });
    return;
  }
  await finish({ text: text.slice(0, 39_000), blocks: answerBlocks(answer, text) });
}
