// The contact policy applied again to a claimed batch just before sending: consent, caps and
// reachability are read fresh for the batch's customers in one query, and each message is
// sent, deferred to the end of quiet hours, or skipped with its reason.
import type { Database } from "../db/client";
import { deferMessage, skipMessage, type ClaimedMessage } from "../messaging/outbox";
import { decideContact, isMarketing, type ContactPolicy, type ContactState, type SkipReason } from "./contact-policy";

interface StateRow {
  id: number;
  linked: boolean;
  marketing_consent: boolean;
  opted_out_at: Date | null;
  unreachable_at: Date | null;
  erased_at: Date | null;
  time_zone: string | null;
  last_offer: Date | null;
  last_survey: Date | null;
  last_declined: Date | null;
}

/** Reads the contact state of many customers in one statement. */
export async function loadContactStates(db: Database, customerIds: number[]): Promise<Map<number, ContactState>> {
  if (customerIds.length === 0) return new Map();
  const rows = await db.prisma.$queryRaw<StateRow[]>`
    SELECT c.id, c.telegram_chat_id IS NOT NULL AS linked, c.marketing_consent, c.opted_out_at, c.unreachable_at, c.erased_at, c.time_zone,
      (SELECT max(m.sent_at) FROM outbox_messages m WHERE m.customer_id = c.id AND m.kind = 'offer' AND m.status = 'sent') AS last_offer,
      (SELECT max(m.sent_at) FROM outbox_messages m WHERE m.customer_id = c.id AND m.kind IN ('survey_nps', 'survey_servqual') AND m.status = 'sent') AS last_survey,
      (SELECT max(i.responded_at) FROM offer_issues i WHERE i.customer_id = c.id AND i.status = 'declined') AS last_declined
    FROM customers c WHERE c.id = ANY(${[...new Set(customerIds)]}::int[])`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        linked: r.linked,
        marketingConsent: r.marketing_consent,
        optedOutAt: r.opted_out_at,
        unreachableAt: r.unreachable_at,
        erasedAt: r.erased_at,
        timeZone: r.time_zone,
        lastOfferSentAt: r.last_offer,
        lastSurveySentAt: r.last_survey,
        lastDeclinedAt: r.last_declined,
      },
    ]),
  );
}

export interface SendCheckResult {
  toSend: ClaimedMessage[];
  deferred: number;
  skipped: Partial<Record<SkipReason, number>>;
}

/**
 * Applies the contact policy to a claimed batch at send time. Skipped messages are settled as
 * `skipped` with the reason; quiet-hours ones go back to `pending` until quiet hours end.
 * Within one batch a second offer (or survey) to the same customer counts against the cap.
 */
export async function checkBatchBeforeSend(
  db: Database,
  batch: ClaimedMessage[],
  policy: ContactPolicy,
  now: Date,
): Promise<SendCheckResult> {
  const states = await loadContactStates(
    db,
    batch.flatMap((m) => (m.customerId === null ? [] : [m.customerId])),
  );
  const result: SendCheckResult = { toSend: [], deferred: 0, skipped: {} };
  for (const message of batch) {
    const state = message.customerId === null ? null : (states.get(message.customerId) ?? null);
    const decision = decideContact(message.kind, state, policy, now);
    switch (decision.type) {
      case "send":
        result.toSend.push(message);
        if (state && isMarketing(message.kind)) {
          if (message.kind === "offer") state.lastOfferSentAt = now;
          else state.lastSurveySentAt = now;
        }
        break;
      case "defer":
        if (await deferMessage(db, message, decision.until)) result.deferred++;
        break;
      case "skip":
        if (await skipMessage(db, message, decision.reason))
          result.skipped[decision.reason] = (result.skipped[decision.reason] ?? 0) + 1;
        break;
    }
  }
  return result;
}
