// Which way a customer's free text goes: small talk (a short answer, no ticket) or a request for
// a person (a ticket), and whether it is a complaint. With a chat model configured the model
// decides (prompt `prompts/intent.md`, its answer parsed with zod); when it fails, times out or
// answers something else, the keyword rules in `intents.ts` decide, as they do with no model.
import { z } from "zod";
import { completeWithin, firstJsonObject, untrusted, type ChatModel } from "../llm/chat-model";
import { fillPrompt, loadPrompt, type PromptSource } from "../llm/prompts";
import type { Logger } from "../log";
import { classifyIntent, type Intent } from "./intents";

/** What the model may answer. */
export const MODEL_INTENTS = ["greeting", "thanks", "emoji", "question", "complaint", "other"] as const;
export type ModelIntent = (typeof MODEL_INTENTS)[number];

const modelAnswer = z.object({ intent: z.enum(MODEL_INTENTS) });

export interface RoutedIntent {
  intent: Intent;
  /** The model called it a complaint (the rules leave that to the theme tagging). */
  complaint: boolean;
  by: "llm" | "keywords";
}

export interface IntentRoutingOptions {
  chatModel?: ChatModel;
  /** The model's answer is awaited this long (LLM_INTENT_TIMEOUT_MS), then the rules decide. */
  timeoutMs: number;
  log?: Logger;
  prompts?: PromptSource;
}

function byRules(text: string): RoutedIntent {
  return { intent: classifyIntent(text), complaint: false, by: "keywords" };
}

function fromModel(intent: ModelIntent): RoutedIntent {
  switch (intent) {
    case "greeting":
    case "thanks":
    case "emoji":
      return { intent, complaint: false, by: "llm" };
    case "question":
    case "other":
      return { intent: "request", complaint: false, by: "llm" };
    case "complaint":
      return { intent: "request", complaint: true, by: "llm" };
  }
}

/**
 * Routes one customer text. The model sees only the text (marked untrusted), never who wrote it.
 * Never throws: any failure of the model is logged and the keyword rules answer.
 */
export async function routeIntent(text: string, options: IntentRoutingOptions): Promise<RoutedIntent> {
  if (!options.chatModel || !text.trim()) return byRules(text);
  try {
    const prompt = fillPrompt((options.prompts ?? loadPrompt)("intent"), { text: untrusted(text) });
    const completion = await completeWithin(
      options.chatModel,
      [{ role: "user", content: prompt }],
      { maxTokens: 30, temperature: 0, json: true },
      options.timeoutMs,
    );
    return fromModel(modelAnswer.parse(firstJsonObject(completion.text)).intent);
  } catch (error) {
    options.log?.warn(
      { err: error instanceof Error ? error.message.slice(0, 200) : String(error) },
      "intent by model failed, using keyword rules",
    );
    return byRules(text);
  }
}
