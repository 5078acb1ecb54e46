// Who may be contacted, when. Checked when a campaign or survey wave is planned (the planner's
// SQL applies the same rules to many customers at once) and again by the dispatcher just
// before each send, because consent, caps and reachability change in between.
import { DateTime } from "luxon";
import type { MessageKind } from "../messaging/channel";

/** The contact rules, from `config.contact` and `config.business.timeZone`. */
export interface ContactPolicy {
  /** Local hour quiet hours start (inclusive), e.g. 21. */
  quietHoursStart: number;
  /** Local hour quiet hours end (exclusive), e.g. 9. Equal to start: no quiet hours. */
  quietHoursEnd: number;
  /** At most one offer per this many days. */
  offerCapDays: number;
  /** At most one survey per this many days. */
  surveyCapDays: number;
  /** No offer for this many days after the customer said "not interested". */
  declineCooldownDays: number;
  /** Used for customers without their own time zone. */
  businessTimeZone: string;
}

/** Builds the policy from the parsed configuration's values. */
export function contactPolicyFromConfig(config: {
  contact: {
    quietHoursStart: number;
    quietHoursEnd: number;
    offerCapDays: number;
    surveyCapDays: number;
    declineCooldownDays: number;
  };
  business: { timeZone: string };
}): ContactPolicy {
  const { quietHoursStart, quietHoursEnd, offerCapDays, surveyCapDays, declineCooldownDays } = config.contact;
  return {
    quietHoursStart,
    quietHoursEnd,
    offerCapDays,
    surveyCapDays,
    declineCooldownDays,
    businessTimeZone: config.business.timeZone,
  };
}

/** What the policy needs to know about one customer. */
export interface ContactState {
  linked: boolean;
  marketingConsent: boolean;
  optedOutAt: Date | null;
  unreachableAt: Date | null;
  erasedAt: Date | null;
  timeZone: string | null;
  lastOfferSentAt: Date | null;
  lastSurveySentAt: Date | null;
  lastDeclinedAt: Date | null;
}

export type SkipReason =
  | "no_customer"
  | "erased"
  | "opted_out"
  | "unreachable"
  | "not_linked"
  | "offer_cap"
  | "survey_cap"
  | "decline_cooldown";

export type ContactDecision =
  { type: "send" } | { type: "defer"; until: Date; reason: "quiet_hours" } | { type: "skip"; reason: SkipReason };

const DAY_MS = 86_400_000;

/** True for offers and surveys: consent, caps and quiet hours apply to them. */
export function isMarketing(kind: MessageKind): boolean {
  return kind === "offer" || kind === "survey_nps" || kind === "survey_servqual";
}

/** The customer's IANA zone if valid, else the business zone. */
export function effectiveTimeZone(timeZone: string | null | undefined, businessTimeZone: string): string {
  if (timeZone && DateTime.now().setZone(timeZone).isValid) return timeZone;
  return businessTimeZone;
}

/**
 * When quiet hours at `now` in `timeZone` end, or null when `now` is outside them.
 * Quiet hours may wrap midnight (21 -> 9). Computed on the local wall clock, so the morning
 * after a daylight-saving change is still 9:00 local.
 */
export function quietHoursEndAt(
  now: Date,
  timeZone: string,
  policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd">,
): Date | null {
  const { quietHoursStart: start, quietHoursEnd: end } = policy;
  if (start === end) return null;
  const local = DateTime.fromJSDate(now, { zone: timeZone });
  const hour = local.hour;
  const quiet = start < end ? hour >= start && hour < end : hour >= start || hour < end;
  if (!quiet) return null;
  let until = local.set({ hour: end, minute: 0, second: 0, millisecond: 0 });
  if (until <= local) until = until.plus({ days: 1 }).set({ hour: end, minute: 0, second: 0, millisecond: 0 });
  return until.toJSDate();
}

/** The earliest instant at or after `now` outside quiet hours in `timeZone`. */
export function nextSendableAt(
  now: Date,
  timeZone: string,
  policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd">,
): Date {
  return quietHoursEndAt(now, timeZone, policy) ?? now;
}

function within(last: Date | null, days: number, now: Date): boolean {
  return last !== null && days > 0 && now.getTime() - last.getTime() < days * DAY_MS;
}

/**
 * Decides whether a message of `kind` may go to a customer now. Pure: the clock is `now`.
 * Every kind needs a linked, reachable, not erased customer. Marketing kinds (offers,
 * surveys) also need consent, respect the frequency caps and the decline cooldown, and wait
 * for the end of quiet hours in the customer's own time zone.
 */
export function decideContact(
  kind: MessageKind,
  state: ContactState | null,
  policy: ContactPolicy,
  now: Date,
): ContactDecision {
  if (!state) return { type: "skip", reason: "no_customer" };
  if (state.erasedAt) return { type: "skip", reason: "erased" };
  if (state.unreachableAt) return { type: "skip", reason: "unreachable" };
  if (!state.linked) return { type: "skip", reason: "not_linked" };
  if (!isMarketing(kind)) return { type: "send" };
  if (!state.marketingConsent || state.optedOutAt) return { type: "skip", reason: "opted_out" };
  if (kind === "offer") {
    if (within(state.lastOfferSentAt, policy.offerCapDays, now)) return { type: "skip", reason: "offer_cap" };
    if (within(state.lastDeclinedAt, policy.declineCooldownDays, now))
      return { type: "skip", reason: "decline_cooldown" };
  } else if (within(state.lastSurveySentAt, policy.surveyCapDays, now)) {
    return { type: "skip", reason: "survey_cap" };
  }
  const until = quietHoursEndAt(now, effectiveTimeZone(state.timeZone, policy.businessTimeZone), policy);
  return until ? { type: "defer", until, reason: "quiet_hours" } : { type: "send" };
}
