// The contact policy: who may be contacted, with what, and when. Defined once, as one SQL
// expression (`contactRefusalSql`) that the campaign planner, the survey wave and the send-time
// check all embed, so a million customers are decided set-based and every caller applies the
// same rules. Quiet hours depend only on a time zone and the clock; they are computed here in
// TypeScript, once per zone.
//
// The rules, in order (the first that applies is the reason):
//  - every kind: a customer row, not erased, reachable (has not blocked the bot), a linked chat;
//  - marketing kinds (`MARKETING_KINDS`: offers and surveys) also need consent (opt-in, not
//    opted out), at most one offer per `offerCapDays` and no offer within `declineCooldownDays`
//    of a "not interested", at most one survey per `surveyCapDays`, and at least `spacingHours`
//    between any two marketing messages. A marketing message counts from the moment it is
//    queued: pending, claimed, in flight, sent, or lost in doubt (it may have arrived);
//  - marketing waits for the end of quiet hours in the customer's own time zone.
import { DateTime } from "luxon";
import { Prisma } from "../db/client";
import type { MessageKind } from "../messaging/channel";
import { MARKETING_KINDS, sqlTimestamp } from "../messaging/outbox";

/** The contact rules, from `config.contact` and `config.business.timeZone`. */
export interface ContactPolicy {
  /** Local hour quiet hours start (inclusive), e.g. 21. */
  quietHoursStart: number;
  /** Local hour quiet hours end (exclusive), e.g. 9. Equal to start: no quiet hours. */
  quietHoursEnd: number;
  /** At most one offer per this many days (0: no cap). */
  offerCapDays: number;
  /** At most one survey per this many days (0: no cap). */
  surveyCapDays: number;
  /** At least this many hours between any two marketing messages to one customer (0: none). */
  spacingHours: number;
  /** No offer for this many days after the customer said "not interested". */
  declineCooldownDays: number;
  /** Used for customers without their own time zone. */
  businessTimeZone: string;
  /**
   * A marketing message waits for the customer's send hour (send-hour.ts) at most this many hours
   * after it became due; 0 or absent: it goes as soon as quiet hours allow.
   */
  sendHourMaxHoldHours?: number;
}

/** Builds the policy from the parsed configuration's values. */
export function contactPolicyFromConfig(config: {
  contact: {
    quietHoursStart: number;
    quietHoursEnd: number;
    offerCapDays: number;
    surveyCapDays: number;
    spacingHours: number;
    declineCooldownDays: number;
    sendHour?: { maxHoldHours: number };
  };
  business: { timeZone: string };
}): ContactPolicy {
  const { quietHoursStart, quietHoursEnd, offerCapDays, surveyCapDays, spacingHours, declineCooldownDays } =
    config.contact;
  return {
    quietHoursStart,
    quietHoursEnd,
    offerCapDays,
    surveyCapDays,
    spacingHours,
    declineCooldownDays,
    businessTimeZone: config.business.timeZone,
    sendHourMaxHoldHours: config.contact.sendHour?.maxHoldHours ?? 0,
  };
}

/** Why a message may not go to a customer. */
export const SKIP_REASONS = [
  "no_customer",
  "erased",
  "unreachable",
  "not_linked",
  "opted_out",
  "no_consent",
  "offer_cap",
  "decline_cooldown",
  "survey_cap",
  "spacing",
] as const;

export type SkipReason = (typeof SKIP_REASONS)[number];

/** True for offers and surveys: consent, caps, spacing and quiet hours apply to them. */
export function isMarketing(kind: MessageKind): boolean {
  return MARKETING_KINDS.includes(kind);
}

/** The survey kinds: the marketing kinds other than offers. */
export const SURVEY_KINDS: readonly MessageKind[] = MARKETING_KINDS.filter((k) => k !== "offer");

const HOUR_MS = 3_600_000;

/** Where a refusal is decided: the customers row, the kind, and (at send time) the message itself. */
export interface RefusalSubject {
  /** Alias of the `customers` row in the surrounding query (its columns may be NULL: no customer). */
  customer: string;
  /** The kind of message to send: a literal kind, or a column/expression yielding one. */
  kind: MessageKind | Prisma.Sql;
  /**
   * The outbox id column of the message being checked at send time; omitted when planning a new
   * message. Outstanding (pending or claimed) messages count against it only when queued
   * before it, so two queued messages never refuse each other and the older one goes first.
   */
  messageId?: Prisma.Sql;
}

/**
 * One SQL expression: the reason (a `SkipReason`) the policy refuses the subject's message at
 * `now`, or NULL when it may go (quiet hours aside; see `quietHoursEndAt`). Embed it in a query
 * that has the customer row under `subject.customer`. Reads `outbox_messages` and `offer_issues`.
 */
export function contactRefusalSql(policy: ContactPolicy, now: Date, subject: RefusalSubject): Prisma.Sql {
  const c = Prisma.raw(subject.customer);
  const kind = typeof subject.kind === "string" ? Prisma.sql`${subject.kind}::text` : subject.kind;
  const contacted = (kinds: readonly MessageKind[], windowMs: number): Prisma.Sql => {
    if (windowMs <= 0) return Prisma.sql`false`;
    const since = sqlTimestamp(new Date(now.getTime() - windowMs));
    const queuedBefore = subject.messageId
      ? Prisma.sql`m.status IN ('pending', 'claimed') AND m.id < ${subject.messageId}`
      : Prisma.sql`m.status IN ('pending', 'claimed')`;
    const self = subject.messageId ? Prisma.sql`AND m.id <> ${subject.messageId}` : Prisma.empty;
    return Prisma.sql`EXISTS (
      SELECT 1 FROM outbox_messages m
      WHERE m.customer_id = ${c}.id AND m.kind = ANY(${[...kinds]}::text[]) ${self}
        AND ((${queuedBefore}) OR m.status = 'sending' OR (m.status = 'sent' AND m.sent_at > ${since})
             OR (m.status = 'failed' AND m.last_error = 'in_doubt' AND m.not_before > ${since})))`;
  };
  const declined =
    policy.declineCooldownDays > 0
      ? Prisma.sql`EXISTS (SELECT 1 FROM offer_issues i WHERE i.customer_id = ${c}.id AND i.status = 'declined'
                    AND i.responded_at > ${sqlTimestamp(new Date(now.getTime() - policy.declineCooldownDays * 24 * HOUR_MS))})`
      : Prisma.sql`false`;
  return Prisma.sql`(CASE
    WHEN ${c}.id IS NULL THEN 'no_customer'
    WHEN ${c}.erased_at IS NOT NULL THEN 'erased'
    WHEN ${c}.unreachable_at IS NOT NULL THEN 'unreachable'
    WHEN ${c}.telegram_chat_id IS NULL THEN 'not_linked'
    WHEN NOT (${kind} = ANY(${[...MARKETING_KINDS]}::text[])) THEN NULL
    WHEN ${c}.opted_out_at IS NOT NULL THEN 'opted_out'
    WHEN NOT ${c}.marketing_consent THEN 'no_consent'
    WHEN ${kind} = 'offer' AND ${contacted(["offer"], policy.offerCapDays * 24 * HOUR_MS)} THEN 'offer_cap'
    WHEN ${kind} = 'offer' AND ${declined} THEN 'decline_cooldown'
    WHEN ${kind} <> 'offer' AND ${contacted(SURVEY_KINDS, policy.surveyCapDays * 24 * HOUR_MS)} THEN 'survey_cap'
    WHEN ${contacted(MARKETING_KINDS, policy.spacingHours * HOUR_MS)} THEN 'spacing'
  END)`;
}

/**
 * Serialises everything that decides and queues marketing messages (campaign planners, survey
 * waves), so two of them at once cannot both find a customer under the caps. Call it first in
 * the transaction that checks `contactRefusalSql` and inserts; it is released at commit. A
 * transaction-scoped advisory lock: a crashed planner never leaves it held.
 */
export async function lockMarketingQueue(tx: Pick<Prisma.TransactionClient, "$executeRaw">): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('retention:marketing-queue'))`;
}

/** The customer's IANA zone if valid, else the business zone. */
export function effectiveTimeZone(timeZone: string | null | undefined, businessTimeZone: string): string {
  if (timeZone && DateTime.now().setZone(timeZone).isValid) return timeZone;
  return businessTimeZone;
}

/** True when local `hour` (0-23) falls inside quiet hours. */
export function isQuietHour(hour: number, policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd">): boolean {
  const { quietHoursStart: start, quietHoursEnd: end } = policy;
  if (start === end) return false;
  return start < end ? hour >= start && hour < end : hour >= start || hour < end;
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
  if (!isQuietHour(local.hour, policy)) return null;
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
