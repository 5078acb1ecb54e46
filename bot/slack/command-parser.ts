// `/retention <subcommand> ...` text to a typed command. Segment names may contain spaces
// ("At risk", "Can't lose them"), quoted or not: an option's value runs to the next option, and
// segment names are read by the same reader as the CLI's (`core/staff/arguments.ts`).
import type { Segment } from "../../core/analytics/segments";
import { leadingSegment, resolveSegment, splitWords } from "../../core/staff/arguments";

export type RetentionCommand =
  | { name: "help" }
  | { name: "at-risk"; segment?: Segment; minRisk?: number; limit: number; orderBy: "risk" | "clv" }
  | { name: "customer"; query: string }
  | { name: "segments" }
  | { name: "status" }
  | { name: "metrics"; period?: string; segment?: Segment }
  | { name: "campaign"; id?: number }
  | { name: "link"; query: string };

export type ParseResult = { ok: true; command: RetentionCommand } | { ok: false; message: string };

const MAX_LIMIT = 200;

/** Parses the text after `/retention`. Unknown subcommands and bad options return a message. */
export function parseRetentionCommand(text: string): ParseResult {
  const words = splitWords(text.trim());
  const sub = (words.shift() ?? "help").toLowerCase();
  // Each option's words: `--segment At risk` is one value; `--limit=5` too.
  const optionWords = new Map<string, string[]>();
  const rest: string[] = [];
  let current: string[] = rest;
  for (const w of words) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(w);
    if (m) {
      current = m[2] ? [m[2]] : [];
      optionWords.set(m[1]!, current);
    } else current.push(w);
  }
  // Options that take one word give the words after it back to the argument.
  const options = new Map<string, string>();
  for (const [name, values] of optionWords) {
    if (name === "segment") {
      options.set(name, values.join(" "));
      continue;
    }
    options.set(name, values[0] ?? "");
    rest.push(...values.slice(1));
  }
  const arg = rest.join(" ");
  const unknown = (allowed: string[]) => [...options.keys()].find((k) => !allowed.includes(k));

  switch (sub) {
    case "help":
      return { ok: true, command: { name: "help" } };
    case "at-risk":
    case "atrisk": {
      const bad = unknown(["min-risk", "limit", "by"]);
      if (bad)
        return {
          ok: false,
          message: `Unknown option --${bad}. Try \`/retention at-risk [segment] [--min-risk 0.7] [--limit 50] [--by clv]\`.`,
        };
      let minRisk: number | undefined;
      if (options.has("min-risk")) {
        minRisk = Number(options.get("min-risk"));
        if (!Number.isFinite(minRisk) || minRisk < 0 || minRisk > 1)
          return { ok: false, message: "--min-risk must be a number between 0 and 1, e.g. 0.7." };
      }
      let limit = 50;
      if (options.has("limit")) {
        limit = Number(options.get("limit"));
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
          return { ok: false, message: `--limit must be a whole number from 1 to ${MAX_LIMIT}.` };
      }
      const by = options.get("by") ?? "risk";
      if (by !== "risk" && by !== "clv") return { ok: false, message: "--by must be risk or clv." };
      let segment: Segment | undefined;
      if (arg) {
        const found = resolveSegment(arg);
        if (!found.ok) return { ok: false, message: found.error.message };
        segment = found.value;
      }
      return { ok: true, command: { name: "at-risk", segment, minRisk, limit, orderBy: by } };
    }
    case "customer":
    case "link": {
      if (!arg)
        return { ok: false, message: `Tell me which customer: \`/retention ${sub} <external id | email | phone>\`.` };
      return { ok: true, command: { name: sub, query: arg } };
    }
    case "segments":
      return { ok: true, command: { name: "segments" } };
    case "status":
      return { ok: true, command: { name: "status" } };
    case "metrics": {
      const bad = unknown(["segment"]);
      if (bad)
        return {
          ok: false,
          message: `Unknown option --${bad}. Try \`/retention metrics [30d | 2026-10 | this-month] [--segment Champions]\`.`,
        };
      // `--segment At risk 30d`: the segment's words end where a name ends; the rest is the period.
      let segment: Segment | undefined;
      let period = arg;
      const segmentText = options.get("segment");
      if (segmentText) {
        const words = splitWords(segmentText);
        const leading = leadingSegment(words);
        if (!leading) {
          const found = resolveSegment(segmentText);
          return { ok: false, message: found.ok ? `Unreadable segment "${segmentText}".` : found.error.message };
        }
        segment = leading.segment;
        period = [arg, ...leading.rest].filter(Boolean).join(" ");
      }
      return { ok: true, command: { name: "metrics", period: period || undefined, segment } };
    }
    case "campaign": {
      if (!arg) return { ok: true, command: { name: "campaign" } };
      const id = Number(arg.replace(/^#/, ""));
      if (!Number.isInteger(id) || id < 1)
        return {
          ok: false,
          message: "Campaign ids are numbers: `/retention campaign 3` (or `/retention campaign` for the list).",
        };
      return { ok: true, command: { name: "campaign", id } };
    }
    default:
      return { ok: false, message: `I don't know \`${sub.slice(0, 40)}\`. Try \`/retention help\`.` };
  }
}
