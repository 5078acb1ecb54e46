// The staff assistant's agent: LangChain `createAgent` over any OpenAI-compatible chat model,
// with core's read-only tools. Core owns the tools, prompt and logging; this file only wires them.
import { ChatOpenAI } from "@langchain/openai";
import { AIMessage, createAgent, tool } from "langchain";
import type { Config } from "../../../core/config/config";
import type { Database } from "../../../core/db/client";
import { assistantSystemPrompt, type Assistant } from "../../../core/assistant/assistant";
import { Toolbox, type AssistantTool } from "../../../core/assistant/toolbox";
import { assistantTools } from "../../../core/assistant/tools";

export interface LangchainAssistantOptions {
  config: Config;
  db: Database;
  now: () => Date;
  tools?: readonly AssistantTool[];
  /** Model turns per question (each tool round trip is two graph steps). */
  maxSteps?: number;
}

/** An `Assistant` backed by a LangChain agent. Requires `config.llm.apiKey`. */
export function createLangchainAssistant(options: LangchainAssistantOptions): Assistant {
  const { config, db } = options;
  const tools = options.tools ?? assistantTools;
  const model = new ChatOpenAI({
    model: config.llm.model,
    apiKey: config.llm.apiKey,
    timeout: config.llm.timeoutMs,
    maxRetries: 1,
    configuration: config.llm.baseUrl ? { baseURL: config.llm.baseUrl } : undefined,
  });
  return {
    ask: async (question, context) => {
      const started = Date.now();
      const now = options.now();
      const disclosed = new Set<string>();
      const toolbox = new Toolbox(tools, {
        db,
        now,
        question,
        allowedAttributes: config.assistant.attributes,
        locale: config.business.locale,
        disclosed,
        riskHigh: config.analytics.riskHigh,
        riskMedium: config.analytics.riskMedium,
        defaultGrossMargin: config.analytics.defaultGrossMargin,
      });
      const lcTools = tools.map((t) =>
        tool(async (input: unknown) => JSON.stringify(await toolbox.call(t.name, input)), {
          name: t.name,
          description: t.description,
          schema: t.schema as never,
        }),
      );
      const agent = createAgent({
        model,
        tools: lcTools,
        systemPrompt: assistantSystemPrompt({
          now,
          currency: config.business.currency,
          riskHigh: config.analytics.riskHigh,
          riskMedium: config.analytics.riskMedium,
        }),
      });
      // The thread's earlier turns first, so a follow-up ("and last month?") reads in context.
      const earlier = (context.history ?? []).flatMap((turn) => [
        { role: "user" as const, content: turn.question },
        { role: "assistant" as const, content: turn.answer },
      ]);
      const state = await agent.invoke(
        { messages: [...earlier, { role: "user", content: question }] },
        { recursionLimit: options.maxSteps ?? 16, signal: context.signal },
      );
      let prompt = 0;
      let completion = 0;
      for (const m of state.messages) {
        if (AIMessage.isInstance(m) && m.usage_metadata) {
          prompt += m.usage_metadata.input_tokens ?? 0;
          completion += m.usage_metadata.output_tokens ?? 0;
        }
      }
      const last = state.messages.at(-1);
      const answer = last ? messageText(last.content) : "";
      return {
        answer: answer || "I have no answer to that.",
        toolCalls: toolbox.calls,
        tokens: { prompt, completion },
        latencyMs: Date.now() - started,
        model: config.llm.model,
        disclosed: [...disclosed],
      };
    },
  };
}

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((c) =>
        typeof c === "string"
          ? c
          : typeof c === "object" && c && "text" in c
            ? String((c as { text: unknown }).text)
            : "",
      )
      .join("");
  return "";
}
