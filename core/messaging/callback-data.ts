// Inline-button payloads. Telegram allows 64 bytes and lets any client send any string back,
// so the data is short, versioned ("v1:") and carries only ids; every handler re-checks the ids
// against the database (who owns the offer, which survey question is current) before acting.
// A forged or stale payload therefore gets a clear answer and changes nothing.

export type CallbackAction =
  | { type: "offer"; action: "accept" | "decline" | "stop"; issueId: number }
  | { type: "nps"; outboxId: number; score: number }
  | { type: "servqual_start"; outboxId: number }
  | { type: "servqual_answer"; step: number; value: number }
  | { type: "servqual_exit"; exit: "skip" | "stop"; step: number }
  | { type: "csat"; ticketId: number; score: number }
  | { type: "forget"; confirm: boolean }
  | { type: "optin"; confirm: boolean }
  | { type: "language"; locale: "en" | "ru" }
  /** The linked chat's answer to moving the account to the chat that opened link `token`. */
  | { type: "link_move"; confirm: boolean; token: string };

const VERSION = "v1";
const OFFER_ACTIONS = { a: "accept", d: "decline", s: "stop" } as const;

/** Encodes an action as callback data (always under 64 bytes). */
export function encodeCallback(action: CallbackAction): string {
  const body = (() => {
    switch (action.type) {
      case "offer":
        return `of:${action.action[0]}:${action.issueId}`;
      case "nps":
        return `np:${action.outboxId}:${action.score}`;
      case "servqual_start":
        return `sq:go:${action.outboxId}`;
      case "servqual_answer":
        return `sq:${action.step}:${action.value}`;
      case "servqual_exit":
        return `sq:${action.exit === "skip" ? "sk" : "st"}:${action.step}`;
      case "csat":
        return `cs:${action.ticketId}:${action.score}`;
      case "forget":
        return `fg:${action.confirm ? "y" : "n"}`;
      case "optin":
        return `oi:${action.confirm ? "y" : "n"}`;
      case "language":
        return `lg:${action.locale}`;
      case "link_move":
        return `lm:${action.confirm ? "y" : "n"}:${action.token}`;
    }
  })();
  return `${VERSION}:${body}`;
}

const id = (s: string | undefined): number | null => (s && /^\d{1,10}$/.test(s) ? Number(s) : null);

/** Parses callback data; anything malformed, out of range or of another version gives null. */
export function decodeCallback(data: string | undefined): CallbackAction | null {
  if (!data || data.length > 64) return null;
  const [version, kind, a, b, ...rest] = data.split(":");
  if (version !== VERSION || rest.length) return null;
  switch (kind) {
    case "of": {
      const action = OFFER_ACTIONS[a as keyof typeof OFFER_ACTIONS];
      const issueId = id(b);
      return action && issueId !== null ? { type: "offer", action, issueId } : null;
    }
    case "np": {
      const outboxId = id(a);
      const score = id(b);
      return outboxId !== null && score !== null && score <= 10 ? { type: "nps", outboxId, score } : null;
    }
    case "sq": {
      if (a === "go") {
        const outboxId = id(b);
        return outboxId !== null ? { type: "servqual_start", outboxId } : null;
      }
      if (a === "sk" || a === "st") {
        const step = id(b);
        return step !== null ? { type: "servqual_exit", exit: a === "sk" ? "skip" : "stop", step } : null;
      }
      const step = id(a);
      const value = id(b);
      return step !== null && value !== null && value >= 1 && value <= 7
        ? { type: "servqual_answer", step, value }
        : null;
    }
    case "cs": {
      const ticketId = id(a);
      const score = id(b);
      return ticketId !== null && score !== null && score >= 1 && score <= 5 ? { type: "csat", ticketId, score } : null;
    }
    case "fg":
    case "oi":
      if (b !== undefined || (a !== "y" && a !== "n")) return null;
      return { type: kind === "fg" ? "forget" : "optin", confirm: a === "y" };
    case "lg":
      return b === undefined && (a === "en" || a === "ru") ? { type: "language", locale: a } : null;
    case "lm":
      return (a === "y" || a === "n") && b !== undefined && /^[A-Za-z0-9_-]{8,52}$/.test(b)
        ? { type: "link_move", confirm: a === "y", token: b }
        : null;
    default:
      return null;
  }
}
