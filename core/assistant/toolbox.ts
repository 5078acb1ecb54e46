import { z } from "zod";
import type { Segment } from "../analytics/segments";
import { parseIsoDay, resolveSegment } from "../staff/arguments";
import type { Database } from "../db/client";

/** What every assistant tool may read. Tools are read-only: they never write to the store. */
export interface ToolContext {
  db: Database;
  now: Date;
  /** The staff member's question: decides whether a named customer's personal data may be shown. */
  question: string;
  riskHigh: number;
  /** The staff's language: reasons the tools return are worded in it (English by default). */
  locale?: string;
  riskMedium: number;
  /** Margin share for purchases without a recorded margin (config.analytics.defaultGrossMargin). */
  defaultGrossMargin: number;
  /** Customer attributes the model may see (ASSISTANT_ATTRIBUTES); others are left out. */
  allowedAttributes?: readonly string[];
  /**
   * Filled by the tools: external ids of customers whose personal data (name, contacts) the
   * model was shown. The answer then holds personal data and is posted only in private places.
   */
  disclosed?: Set<string>;
}

/** One typed, read-only tool. `input` is validated with `schema` before `run` sees it. */
export interface AssistantTool<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: S;
  run(input: z.infer<S>, ctx: ToolContext): Promise<unknown>;
}

export interface ToolCallRecord {
  tool: string;
  input: unknown;
  output: unknown;
  error?: string;
}

/** Declares a tool with its input type inferred from the zod schema. */
export function defineTool<S extends z.ZodType>(tool: AssistantTool<S>): AssistantTool<S> {
  return tool;
}

/**
 * The tools bound to one question: each call is validated, run, made JSON-safe and recorded,
 * so the answer can show which tool produced which number.
 */
export class Toolbox {
  readonly calls: ToolCallRecord[] = [];
  constructor(
    readonly tools: readonly AssistantTool[],
    private readonly ctx: ToolContext,
  ) {}

  /** Runs a tool by name. Bad input or a failing tool returns `{error}` for the model to read. */
  async call(name: string, rawInput: unknown): Promise<unknown> {
    const tool = this.tools.find((t) => t.name === name);
    if (!tool)
      return this.record({
        tool: name,
        input: rawInput,
        output: { error: `unknown tool ${name}` },
        error: "unknown tool",
      });
    const parsed = tool.schema.safeParse(rawInput ?? {});
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
      return this.record({
        tool: name,
        input: rawInput,
        output: { error: `invalid input: ${message}` },
        error: "invalid input",
      });
    }
    try {
      const output = toJsonSafe(await tool.run(parsed.data, this.ctx));
      return this.record({ tool: name, input: parsed.data, output });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof ToolInputError)
        return this.record({ tool: name, input: parsed.data, output: { error: message }, error: "invalid input" });
      return this.record({
        tool: name,
        input: parsed.data,
        output: { error: "the tool failed; say so instead of guessing" },
        error: message,
      });
    }
  }

  private record(call: ToolCallRecord): unknown {
    this.calls.push(call);
    return call.output;
  }
}

/** Dates to ISO strings (dates at midnight UTC to YYYY-MM-DD), floats to 4 decimals, bigint to string. */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isInteger(value) ? value : Math.round(value * 10_000) / 10_000;
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (typeof value === "object") {
    if (typeof (value as { toNumber?: unknown }).toNumber === "function")
      return toJsonSafe((value as { toNumber(): number }).toNumber());
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toJsonSafe(v)]),
    );
  }
  return value;
}

/** A calendar date "YYYY-MM-DD" as a UTC instant. */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD")
  .describe("a date as YYYY-MM-DD");

/** Input the schema let through but that means nothing (a day that does not exist, an unknown segment). */
export class ToolInputError extends Error {}

/** A date the schema above accepted, as UTC midnight; a day that does not exist is the model's error. */
export function parseIsoDate(text: string): Date {
  const date = parseIsoDay(text);
  if (!date) throw new ToolInputError(`${text} is not a day that exists`);
  return date;
}

/** A segment name as the model wrote it, read like staff's; an unknown name is the model's error, not zeros. */
export function toolSegment(text: string | undefined): Segment | undefined {
  if (!text) return undefined;
  const found = resolveSegment(text);
  if (!found.ok) throw new ToolInputError(found.error.message);
  return found.value;
}
