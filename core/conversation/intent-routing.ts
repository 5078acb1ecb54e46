// Which way a customer's free text goes: small talk (a short answer, no ticket) or a request for
// a person (a ticket), whether it is a complaint, and, while the chat waits for the answer to a
// question it asked (the NPS follow-up), whether the text is that answer or something new. With a
// chat model configured the model decides (prompt `prompts/intent.md`, its answer parsed with
// zod); when it fails, times out or answers something else, the keyword rules in `intents.ts`
// decide, as they do with no model.
import { z } from "zod";
import { completeWithin, firstJsonObject, untrusted, type ChatModel } from "../llm/chat-model";
import { fillPrompt, loadPrompt, type PromptSource } from "../llm/prompts";
import type { Logger } from "../log";
import { classifyIntent, isQuestion, type Intent } from "./intents";

/** What the model may answer. */
export const MODEL_INTENTS = ["answer", "greeting", "thanks", "emoji", "question", "complaint", "other"] as const;
export type ModelIntent = (typeof MODEL_INTENTS)[number];

const modelAnswer = z.object({ intent: z.enum(MODEL_INTENTS) });

/** A question the chat asked and waits the answer to; its wording for the model is `prompts/intent-asked-<name>.md`. */
export type AwaitedAnswer = "nps";

export interface RoutedIntent {
  intent: Intent;
  /** The model called it a complaint (the rules leave that to the theme tagging). */
  complaint: boolean;
  /** The text is the answer to the question awaited (always false when none is). */
  answers: boolean;
  by: "llm" | "keywords";
}

export interface IntentRoutingOptions {
  chatModel?: ChatModel;
  /** The model's answer is awaited this long (LLM_INTENT_TIMEOUT_MS), then the rules decide. */
  timeoutMs: number;
  log?: Logger;
  prompts?: PromptSource;
  /** The question the chat waits the answer to, if any. */
  awaiting?: AwaitedAnswer;
}

/** The rules: an answer is a text a person should read that does not ask anything itself. */
function byRules(text: string, awaiting: AwaitedAnswer | undefined): RoutedIntent {
  const intent = classifyIntent(text);
  const answers = awaiting !== undefined && intent === "request" && !isQuestion(text);
  return { intent, complaint: false, answers, by: "keywords" };
}

function fromModel(intent: ModelIntent, awaiting: AwaitedAnswer | undefined): RoutedIntent {
  switch (intent) {
    case "greeting":
    case "thanks":
    case "emoji":
      return { intent, complaint: false, answers: false, by: "llm" };
    case "answer":
      // With nothing asked, an "answer" is a message for a person like any other.
      return { intent: "request", complaint: false, answers: awaiting !== undefined, by: "llm" };
    case "question":
    case "other":
      return { intent: "request", complaint: false, answers: false, by: "llm" };
    case "complaint":
      return { intent: "request", complaint: true, answers: false, by: "llm" };
  }
}

/** The intent prompt for one text, with the question awaited (if any) named. */
export function intentPrompt(text: string, awaiting?: AwaitedAnswer, prompts: PromptSource = loadPrompt): string {
  return fillPrompt(prompts("intent"), {
    asked: prompts(`intent-asked-${awaiting ?? "none"}`).trim(),
    text: untrusted(text),
  });
}

/**
 * Routes one customer text; with `awaiting`, also whether it answers the question the chat asked
 * (the one place that decides it). The model sees only the text (marked untrusted) and which
 * question was asked, never who wrote it. Never throws: any failure of the model is logged and the keyword rules answer.
 */
export async function routeIntent(text: string, options: IntentRoutingOptions): Promise<RoutedIntent> {
  if (!options.chatModel || !text.trim()) return byRules(text, options.awaiting);
  try {
    const prompt = intentPrompt(text, options.awaiting, options.prompts);
    const completion = await completeWithin(
      options.chatModel,
      [{ role: "user", content: prompt }],
      { maxTokens: 30, temperature: 0, json: true },
      options.timeoutMs,
    );
    return fromModel(modelAnswer.parse(firstJsonObject(completion.text)).intent, options.awaiting);
  } catch (error) {
    options.log?.warn(
      { err: error instanceof Error ? error.message.slice(0, 200) : String(error) },
      "intent by model failed, using keyword rules",
    );
    return byRules(text, options.awaiting);
  }
}
