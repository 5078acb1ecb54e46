// Argument parsers and the command context wrapper shared by the command modules; kept apart
// from the commands so that loading one command does not load another's engine.
import type { Segment } from "../../core/analytics/segments";
import { parseDateOrInstant, resolveSegment } from "../../core/staff/arguments";
import { buildContext, UserError, type AppContext } from "../context";

/** Parses YYYY-MM-DD (UTC midnight; the day must exist) or a full ISO timestamp. */
export function parseDate(value: string, option: string): Date {
  const date = parseDateOrInstant(value);
  if (!date) throw new UserError(`${option}: "${value}" is not a date that exists (use YYYY-MM-DD, e.g. 2026-02-28)`);
  return date;
}

/** A segment name as staff write it (any case, quoted); a typo gets a did-you-mean. */
export function parseSegment(value: string, option: string): Segment {
  const found = resolveSegment(value);
  if (!found.ok) throw new UserError(`${option}: ${found.error.message}`);
  return found.value;
}

export const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
export const number = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UserError(`${name}: "${v}" is not a number`);
  return n;
};

export function asOfClock(asOf: string | undefined): (() => Date) | undefined {
  if (!asOf) return undefined;
  const date = parseDate(asOf, "--as-of");
  return () => date;
}

export async function withContext<T>(asOf: string | undefined, body: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await buildContext({ now: asOfClock(asOf) });
  try {
    return await body(ctx);
  } finally {
    await ctx.close();
  }
}
