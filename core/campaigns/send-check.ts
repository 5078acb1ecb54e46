// The contact policy applied again to a claimed batch just before sending: consent, caps,
// spacing and reachability change between planning and sending, so the batch is decided afresh
// in one query by the same rule the planner used (`contactRefusalSql`), and each message is
// sent, deferred to the end of quiet hours, held for the customer's send hour (send-hour.ts;
// marketing only, at most `sendHourMaxHoldHours` after it became due), or skipped with its reason.
import { Prisma, type Database } from "../db/client";
import { deferMessage, skipMessage, type ClaimedMessage } from "../messaging/outbox";
import {
  contactRefusalSql,
  effectiveTimeZone,
  isMarketing,
  quietHoursEndAt,
  type ContactPolicy,
  type SkipReason,
} from "./contact-policy";
import { activeStoreSendHour, sendHourHoldUntil } from "./send-hour";

export interface SendCheckResult {
  toSend: ClaimedMessage[];
  deferred: number;
  /** Marketing messages held for the customer's send hour. */
  held: number;
  skipped: Partial<Record<SkipReason, number>>;
}

/**
 * Applies the contact policy to a claimed batch at send time. Skipped messages are settled as
 * `skipped` with the reason; quiet-hours ones go back to `pending` until quiet hours end.
 * Two marketing messages to one customer in a batch (or in two dispatchers' batches) never
 * both pass: the one queued later counts the earlier against the caps and the spacing.
 */
export async function checkBatchBeforeSend(
  db: Database,
  batch: ClaimedMessage[],
  policy: ContactPolicy,
  now: Date,
): Promise<SendCheckResult> {
  const result: SendCheckResult = { toSend: [], deferred: 0, held: 0, skipped: {} };
  if (batch.length === 0) return result;
  const refusal = contactRefusalSql(policy, now, {
    customer: "c",
    kind: Prisma.sql`msg.kind`,
    messageId: Prisma.sql`msg.id`,
  });
  const rows = await db.prisma.$queryRaw<
    { id: number; reason: SkipReason | null; time_zone: string | null; send_hour: number | null; due_ms: number }[]
  >`
    SELECT msg.id, ${refusal} AS reason, c.time_zone, sh.hour AS send_hour,
      (extract(epoch FROM coalesce(msg.due_at, msg.not_before) AT TIME ZONE 'UTC') * 1000)::float8 AS due_ms
    FROM outbox_messages msg LEFT JOIN customers c ON c.id = msg.customer_id
    LEFT JOIN customer_send_hours sh ON sh.customer_id = msg.customer_id
    WHERE msg.id = ANY(${batch.map((m) => m.outboxId)}::int[])`;
  // The store's hour stands in for customers without their own; none learned yet: no holding.
  const storeHour =
    (policy.sendHourMaxHoldHours ?? 0) > 0 && batch.some((m) => isMarketing(m.kind))
      ? await activeStoreSendHour(db)
      : null;
  const decided = new Map(rows.map((r) => [r.id, r]));
  for (const message of batch) {
    const row = decided.get(message.outboxId);
    const reason: SkipReason | null = row ? row.reason : "no_customer";
    if (reason) {
      if (await skipMessage(db, message, reason)) result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
      continue;
    }
    if (!isMarketing(message.kind)) {
      result.toSend.push(message);
      continue;
    }
    const zone = effectiveTimeZone(row?.time_zone, policy.businessTimeZone);
    const until = quietHoursEndAt(now, zone, policy);
    if (until) {
      if (await deferMessage(db, message, until)) result.deferred++;
      continue;
    }
    const dueAt = new Date(row?.due_ms ?? now.getTime());
    const hold = storeHour === null ? null : sendHourHoldUntil(now, zone, row?.send_hour ?? storeHour, dueAt, policy);
    if (hold) {
      if (await deferMessage(db, message, hold, { dueAt })) result.held++;
    } else {
      result.toSend.push(message);
    }
  }
  return result;
}
