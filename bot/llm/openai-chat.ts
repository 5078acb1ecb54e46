// The `ChatModel` over any OpenAI-compatible chat-completions API (OpenAI, vLLM, Ollama,
// llama.cpp) with the official `openai` SDK. Chosen at start-up only when OPENAI_API_KEY is set;
// without it callers fall back to templates and keyword rules.
import OpenAI from "openai";
import type { Config } from "../../core/config/config";
import type { ChatCompletion, ChatMessage, ChatModel } from "../../core/llm/chat-model";

export interface OpenAIChatOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  timeoutMs: number;
}

export class OpenAIChatModel implements ChatModel {
  readonly name: string;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAIChatOptions) {
    this.name = `openai:${options.model}`;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      maxRetries: 1,
    });
  }

  async complete(
    messages: ChatMessage[],
    options: { maxTokens?: number; temperature?: number; json?: boolean } = {},
  ): Promise<ChatCompletion> {
    const response = await this.client.chat.completions.create({
      model: this.options.model,
      messages,
      ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.json ? { response_format: { type: "json_object" as const } } : {}),
    });
    return {
      text: response.choices[0]?.message?.content ?? "",
      promptTokens: response.usage?.prompt_tokens,
      completionTokens: response.usage?.completion_tokens,
      model: response.model,
    };
  }
}

/** The configured chat model, or undefined when OPENAI_API_KEY is not set. */
export function chatModelFromConfig(config: Config): ChatModel | undefined {
  const { apiKey, baseUrl, model, timeoutMs } = config.llm;
  return apiKey ? new OpenAIChatModel({ apiKey, baseUrl, model, timeoutMs }) : undefined;
}
