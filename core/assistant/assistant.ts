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

/** An earlier question of the same thread and its answer. */
export interface AssistantTurn {
  question: string;
  answer: string;
}

export interface AskContext {
  /** Slack user id of the staff member asking. */
  user: string;
  channel: string;
  /**
   * The thread the question was asked in (`DIRECT_THREAD` for a direct message outside a
   * thread): `loggedAssistant` adds the asker's earlier turns there as `history`.
   */
  thread?: string;
  /** Earlier turns of the thread, oldest first, for the model to read before the question. */
  history?: AssistantTurn[];
  /** Aborted when the answer has taken longer than allowed: the model call should stop. */
  signal?: AbortSignal;
}

/** The thread of a direct message outside any thread: earlier turns count for `DIRECT_MEMORY_MS`. */
export const DIRECT_THREAD = "dm";
const DIRECT_MEMORY_MS = 30 * 60_000;
/** At most this many earlier turns, and this many characters of them, go to the model. */
export const THREAD_TURNS = 6;
const THREAD_CHARS = 8_000;

/**
 * The asker's earlier answered turns in this thread, oldest first, the newest that fit the
 * bounds. Only the asker's own: a colleague in the same thread starts afresh (an earlier answer
 * may hold personal data shown to the asker alone). Also the customers those answers disclosed.
 */
async function threadHistory(
  db: Database,
  context: AskContext,
  now: Date,
): Promise<{ turns: AssistantTurn[]; disclosed: string[] }> {
  if (!context.thread) return { turns: [], disclosed: [] };
  const since = context.thread === DIRECT_THREAD ? new Date(now.getTime() - DIRECT_MEMORY_MS) : new Date(0);
  const rows = await db.prisma.assistantQuestion.findMany({
    where: {
      channel: context.channel,
      threadTs: context.thread,
      slackUserId: context.user,
      error: null,
      answer: { not: null },
      createdAt: { gte: since },
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: THREAD_TURNS,
    select: { question: true, answer: true, disclosed: true },
  });
  const turns: AssistantTurn[] = [];
  const disclosed = new Set<string>();
  let chars = 0;
  for (const row of rows) {
    chars += row.question.length + (row.answer?.length ?? 0);
    if (chars > THREAD_CHARS && turns.length > 0) break;
    turns.unshift({ question: row.question, answer: row.answer ?? "" });
    for (const id of Array.isArray(row.disclosed) ? row.disclosed : []) disclosed.add(String(id));
  }
  return { turns, disclosed: [...disclosed] };
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
 * tools called, tokens and latency; a question in a thread is asked with the asker's earlier
 * turns there. A model failure is logged, stored and answered with an apology instead of being
 * thrown at the chat; an answer that takes longer than `timeoutSeconds` is abandoned and said so.
 */
export function loggedAssistant(
  db: Database,
  inner: Assistant,
  options: { log: Logger; now?: () => Date; timeoutSeconds?: number },
): Assistant {
  const timeoutMs = (options.timeoutSeconds ?? 60) * 1000;
  return {
    ask: async (question, context) => {
      const started = Date.now();
      const history = await threadHistory(db, context, options.now?.() ?? new Date());
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
        const controller = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<AssistantAnswer>((resolve) => {
          timer = setTimeout(() => {
            controller.abort();
            resolve({
              answer: `The language model took longer than ${timeoutMs / 1000} s, so I stopped waiting. Try a narrower question, or the \`/retention\` commands.`,
              toolCalls: [],
              tokens: { prompt: 0, completion: 0 },
              latencyMs: Date.now() - started,
              error: "timeout",
            });
          }, timeoutMs);
        });
        try {
          const asked = inner.ask(question, { ...context, history: history.turns, signal: controller.signal });
          asked.catch(() => undefined); // after a timeout, its abort error is nobody's to hear
          result = await Promise.race([asked, timedOut]);
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
        } finally {
          clearTimeout(timer);
        }
      }
      // Customers an earlier turn disclosed are still in the conversation the model answered from.
      const disclosed = [...new Set([...(result.disclosed ?? []), ...history.disclosed])];
      if (disclosed.length > 0) result = { ...result, disclosed };
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
          threadTs: context.thread ?? null,
          disclosed,
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
