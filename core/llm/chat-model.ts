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
