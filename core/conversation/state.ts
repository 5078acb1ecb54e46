// What the conversation remembers per chat between messages: the flow in progress (a survey, a
// complaint being written, a confirmation), when it was last advanced, and when the customer last
// wrote to staff. A flow expires after the configured timeout, so a customer who walks away from a
// survey is never trapped in it: their next message is handled as a new one.
import type { CallbackAction } from "../messaging/callback-data";
import type { Locale } from "../messaging/locales";
import type { ServqualState } from "../feedback/servqual";

export type Flow =
  | { type: "nps_comment"; feedbackId: number }
  | { type: "servqual"; state: ServqualState }
  | { type: "complaint" }
  | { type: "confirm_forget" }
  | { type: "confirm_optin" };

/** Stored as JSON per chat (`conversations.data`); every field optional, so old rows still read. */
export interface ConversationState {
  locale?: Locale;
  flow?: Flow;
  /** When the flow was entered or last advanced (ISO 8601). */
  flowAt?: string;
  /** When the customer last wrote to staff (ISO 8601): a burst is acknowledged once. */
  lastRequestAt?: string;
}

/** A line of a reply: a locale key and its variables; the channel translates it. */
export interface Line {
  key: string;
  vars?: Record<string, string | number>;
}

export interface ReplyButton {
  /** A literal label ("1".."7") or a locale key. */
  label: string | Line;
  action: CallbackAction;
}

/** One message to the customer, channel-neutral. */
export interface Reply {
  lines: Line[];
  buttons?: ReplyButton[][];
  /** Offer the "share my phone number" button. */
  requestPhone?: boolean;
  /** Remove a reply keyboard shown earlier. */
  removeKeyboard?: boolean;
}

export function say(key: string, vars?: Line["vars"], extra: Omit<Reply, "lines"> = {}): Reply {
  return { lines: [{ key, ...(vars ? { vars } : {}) }], ...extra };
}

/** The flow in progress, or undefined when there is none or it has expired. */
export function activeFlow(state: ConversationState, now: Date, timeoutMinutes: number): Flow | undefined {
  if (!state.flow) return undefined;
  const at = state.flowAt ? Date.parse(state.flowAt) : NaN;
  // A flow without a time predates expiry: treat it as abandoned.
  if (!Number.isFinite(at) || now.getTime() - at > timeoutMinutes * 60_000) return undefined;
  return state.flow;
}

export function enterFlow(state: ConversationState, flow: Flow, now: Date): ConversationState {
  return { ...state, flow, flowAt: now.toISOString() };
}

export function leaveFlow(state: ConversationState): ConversationState {
  const { flow: _flow, flowAt: _flowAt, ...rest } = state;
  return rest;
}
