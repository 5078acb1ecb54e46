// Offers past their expiry: marked `expired`, the buttons under the messages that carried them
// removed and the ones not sent yet never sent, so nobody taps "Use the offer" on a dead offer. Run with the dispatcher (each
// minute by default), so a button outlives its offer by about a minute at most.
import type { Database } from "../db/client";
import type { MessageChannel } from "../messaging/channel";
import { sqlTimestamp } from "../messaging/outbox";

export interface ExpiredOffers {
  /** Offer issues marked expired. */
  expired: number;
  /** Offer messages still waiting in the outbox (quiet hours, a backlog) skipped, never sent. */
  unsent: number;
  /** Messages whose buttons were removed. */
  buttonsRemoved: number;
}

/**
 * Marks offers whose expiry has passed and that nobody answered as `expired`: a sent one's
 * message loses its buttons (the channel removes them), an unsent one's outbox row is skipped
 * (`offer_expired`). A refused removal (the customer blocked the bot, the message is gone) is not
 * retried: the button then answers "this offer has expired".
 * @throws when the database fails.
 */
export async function expireOffers(
  db: Database,
  channel: MessageChannel,
  options: { now: Date; limit?: number },
): Promise<ExpiredOffers> {
  const rows = await db.prisma.$queryRaw<{ chatId: bigint | null; providerId: string | null; unsent: number }[]>`
    WITH expired AS (
      UPDATE offer_issues SET status = 'expired'
      WHERE id IN (
        SELECT id FROM offer_issues
        WHERE status IN ('issued', 'sent') AND expires_at <= ${sqlTimestamp(options.now)}
        ORDER BY expires_at LIMIT ${options.limit ?? 10_000} FOR UPDATE SKIP LOCKED
      )
      RETURNING id, customer_id
    ), unsent AS (
      UPDATE outbox_messages m SET status = 'skipped', skip_reason = 'offer_expired'
      FROM expired e
      WHERE m.kind = 'offer' AND m.status = 'pending' AND m.customer_id = e.customer_id
        AND m.payload->>'offerIssueId' = e.id::text
      RETURNING m.id
    )
    SELECT c.telegram_chat_id AS "chatId", m.provider_id AS "providerId", (SELECT count(*)::int FROM unsent) AS unsent
    FROM expired e
    LEFT JOIN outbox_messages m ON m.kind = 'offer' AND m.status = 'sent' AND m.customer_id = e.customer_id
      AND m.payload->>'offerIssueId' = e.id::text
    LEFT JOIN customers c ON c.id = e.customer_id`;
  let buttonsRemoved = 0;
  if (channel.removeButtons)
    for (const { chatId, providerId } of rows) {
      if (chatId === null || providerId === null) continue;
      if (await channel.removeButtons(BigInt(chatId), providerId)) buttonsRemoved++;
    }
  return { expired: rows.length, unsent: rows[0]?.unsent ?? 0, buttonsRemoved };
}
