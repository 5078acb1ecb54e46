// `/retention <subcommand> ...` text to a typed command. Segment names may contain spaces
// ("At risk", "Can't lose"), so every word that is not an option belongs to the argument.

export type RetentionCommand =
  | { name: "help" }
  | { name: "at-risk"; segment?: string; minRisk?: number; limit: number; orderBy: "risk" | "clv" }
  | { name: "customer"; query: string }
  | { name: "segments" }
  | { name: "status" }
  | { name: "metrics"; period?: string; segment?: string }
  | { name: "campaign"; id?: number }
  | { name: "link"; query: string };

export type ParseResult = { ok: true; command: RetentionCommand } | { ok: false; message: string };

const MAX_LIMIT = 200;

/** Parses the text after `/retention`. Unknown subcommands and bad options return a message. */
export function parseRetentionCommand(text: string): ParseResult {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const sub = (words.shift() ?? "help").toLowerCase();
  const options = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(w);
    if (m) {
      const value = m[2] ?? (words[i + 1] !== undefined && !words[i + 1]!.startsWith("--") ? words[++i] : "");
      options.set(m[1]!, value ?? "");
    } else rest.push(w);
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
      return { ok: true, command: { name: "at-risk", segment: arg || undefined, minRisk, limit, orderBy: by } };
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
      return {
        ok: true,
        command: { name: "metrics", period: arg || undefined, segment: options.get("segment") || undefined },
      };
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
