// The contact policy applied again to a claimed batch just before sending: consent, caps,
// spacing and reachability change between planning and sending, so the batch is decided afresh
// in one query by the same rule the planner used (`contactRefusalSql`), and each message is
// sent, deferred to the end of quiet hours, or skipped with its reason.
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

export interface SendCheckResult {
  toSend: ClaimedMessage[];
  deferred: number;
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
  const result: SendCheckResult = { toSend: [], deferred: 0, skipped: {} };
  if (batch.length === 0) return result;
  const refusal = contactRefusalSql(policy, now, {
    customer: "c",
    kind: Prisma.sql`msg.kind`,
    messageId: Prisma.sql`msg.id`,
  });
  const rows = await db.prisma.$queryRaw<{ id: number; reason: SkipReason | null; time_zone: string | null }[]>`
    SELECT msg.id, ${refusal} AS reason, c.time_zone
    FROM outbox_messages msg LEFT JOIN customers c ON c.id = msg.customer_id
    WHERE msg.id = ANY(${batch.map((m) => m.outboxId)}::int[])`;
  const decided = new Map(rows.map((r) => [r.id, r]));
  for (const message of batch) {
    const row = decided.get(message.outboxId);
    const reason: SkipReason | null = row ? row.reason : "no_customer";
    if (reason) {
      if (await skipMessage(db, message, reason)) result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
      continue;
    }
    const until = isMarketing(message.kind)
      ? quietHoursEndAt(now, effectiveTimeZone(row?.time_zone, policy.businessTimeZone), policy)
      : null;
    if (until) {
      if (await deferMessage(db, message, until)) result.deferred++;
    } else {
      result.toSend.push(message);
    }
  }
  return result;
}
