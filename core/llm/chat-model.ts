// The LLM as core sees it: a small interface. Its OpenAI-compatible implementation lives at
// the edge (bot/llm/) and is chosen at start-up; with no API key there is none, and callers
// fall back to templates and keyword rules.

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatCompletion {
  text: string;
  promptTokens?: number;
  completionTokens?: number;
  model?: string;
}

export interface ChatModel {
  readonly name: string;
  complete(
    messages: ChatMessage[],
    options?: { maxTokens?: number; temperature?: number; json?: boolean },
  ): Promise<ChatCompletion>;
}

/**
 * Wraps text written by a customer so a model treats it as data: an instruction hidden in a
 * complaint must change nothing. Pair with a system prompt that says so.
 */
export function untrusted(text: string): string {
  const cleaned = text.replace(/<\/?untrusted_customer_text>/gi, "");
  return `<untrusted_customer_text>\n${cleaned}\n</untrusted_customer_text>`;
}

/**
 * The first JSON object in a model's answer (models like to wrap JSON in prose or fences).
 * @throws Error when there is none, or it is not valid JSON.
 */
export function firstJsonObject(text: string): unknown {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) throw new Error("no JSON object in the model answer");
  return JSON.parse(text.slice(start, end + 1));
}

/**
 * `model.complete`, given up after `timeoutMs`: a slow model must not hold a message or a
 * conversation, the caller falls back (template, keyword rules) instead.
 * @throws Error naming the limit when the model has not answered by then, or the model's error.
 */
export async function completeWithin(
  model: ChatModel,
  messages: ChatMessage[],
  options: Parameters<ChatModel["complete"]>[1],
  timeoutMs: number,
): Promise<ChatCompletion> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      model.complete(messages, options),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from the model within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
