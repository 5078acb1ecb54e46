// The staff assistant as core sees it. The agent (LangChain over an OpenAI-compatible model)
// lives at the edge and implements `Assistant`; core supplies the tools, the system prompt,
// the question log and the answer when no model is configured.
import type { Database } from "../db/client";
import type { Logger } from "../log";
import { fillPrompt, loadPrompt } from "../llm/prompts";
import type { ToolCallRecord } from "./toolbox";

export interface AssistantAnswer {
  answer: string;
  toolCalls: ToolCallRecord[];
  tokens: { prompt: number; completion: number };
  latencyMs: number;
  model?: string;
  /** Set when the model failed and `answer` is an apology. */
  error?: string;
  /**
   * External ids of customers whose personal data the model was shown for this answer: the
   * answer may repeat it, so it belongs only in a direct message or a staff channel.
   */
  disclosed?: string[];
}

export interface AskContext {
  /** Slack user id of the staff member asking. */
  user: string;
  channel: string;
}

export interface Assistant {
  ask(question: string, context: AskContext): Promise<AssistantAnswer>;
}

/** Questions longer than this are refused before any model call. */
export const MAX_QUESTION_CHARS = 2_000;

/** The system prompt (`prompts/assistant-system.md`) filled for today. */
export function assistantSystemPrompt(options: {
  now: Date;
  currency: string;
  riskHigh: number;
  riskMedium: number;
}): string {
  return fillPrompt(loadPrompt("assistant-system"), {
    today: options.now.toISOString().slice(0, 10),
    currency: options.currency,
    risk_high: options.riskHigh,
    risk_medium: options.riskMedium,
  });
}

/** The answer when no LLM is configured: says so and points to the commands that still work. */
export function unavailableAssistant(): Assistant {
  return {
    ask: async () => ({
      answer:
        "The assistant is not configured: there is no OPENAI_API_KEY, so I cannot answer questions in plain language. " +
        "The commands still work: `/retention at-risk`, `/retention customer <id|email|phone>`, `/retention segments`, " +
        "`/retention metrics [period]`, `/retention campaign <id>` (see `/retention help`).",
      toolCalls: [],
      tokens: { prompt: 0, completion: 0 },
      latencyMs: 0,
    }),
  };
}

/**
 * Wraps an assistant so that every question is stored in `assistant_questions` with its answer,
 * tools called, tokens and latency. A model failure is logged, stored and answered with an
 * apology instead of being thrown at the chat.
 */
export function loggedAssistant(db: Database, inner: Assistant, options: { log: Logger; now?: () => Date }): Assistant {
  return {
    ask: async (question, context) => {
      const started = Date.now();
      let result: AssistantAnswer;
      if (question.length > MAX_QUESTION_CHARS) {
        result = {
          answer: `That question is too long (${question.length} characters; the limit is ${MAX_QUESTION_CHARS}). Please shorten it.`,
          toolCalls: [],
          tokens: { prompt: 0, completion: 0 },
          latencyMs: 0,
          error: "question_too_long",
        };
      } else {
        try {
          result = await inner.ask(question, context);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          options.log.error({ err: message, user: context.user }, "assistant failed");
          result = {
            answer:
              "Sorry, I could not answer that just now (the language model failed). The `/retention` commands still work.",
            toolCalls: [],
            tokens: { prompt: 0, completion: 0 },
            latencyMs: Date.now() - started,
            error: message.slice(0, 500),
          };
        }
      }
      await db.prisma.assistantQuestion.create({
        data: {
          slackUserId: context.user,
          channel: context.channel,
          question,
          answer: result.answer,
          toolCalls: JSON.parse(JSON.stringify(result.toolCalls)),
          promptTokens: result.tokens.prompt,
          completionTokens: result.tokens.completion,
          latencyMs: result.latencyMs,
          model: result.model ?? null,
          error: result.error ?? null,
          ...(options.now ? { createdAt: options.now() } : {}),
        },
      });
      options.log.info(
        {
          user: context.user,
          tools: result.toolCalls.map((c) => c.tool),
          tokens: result.tokens,
          latencyMs: result.latencyMs,
        },
        "assistant answered",
      );
      return result;
    },
  };
}
