// Offers past their expiry: marked `expired`, and the buttons under the messages that carried
// them removed, so nobody taps "Use the offer" on a dead offer. Run with the dispatcher (each
// minute by default), so a button outlives its offer by about a minute at most.
import type { Database } from "../db/client";
import type { MessageChannel } from "../messaging/channel";
import { sqlTimestamp } from "../messaging/outbox";

export interface ExpiredOffers {
  /** Offer issues marked expired. */
  expired: number;
  /** Messages whose buttons were removed. */
  buttonsRemoved: number;
}

/**
 * Marks sent offers whose expiry has passed as `expired` (answered ones keep their status) and
 * asks the channel to remove their messages' buttons. A refused removal (the customer blocked the
 * bot, the message is gone) is not retried: the button then answers "this offer has expired".
 * @throws when the database fails.
 */
export async function expireOffers(
  db: Database,
  channel: MessageChannel,
  options: { now: Date; limit?: number },
): Promise<ExpiredOffers> {
  const messages = await db.prisma.$queryRaw<{ chatId: bigint | null; providerId: string | null }[]>`
    WITH expired AS (
      UPDATE offer_issues SET status = 'expired'
      WHERE id IN (
        SELECT id FROM offer_issues WHERE status = 'sent' AND expires_at <= ${sqlTimestamp(options.now)}
        ORDER BY expires_at LIMIT ${options.limit ?? 10_000} FOR UPDATE SKIP LOCKED
      )
      RETURNING id, customer_id
    )
    SELECT c.telegram_chat_id AS "chatId", m.provider_id AS "providerId"
    FROM expired e
    LEFT JOIN outbox_messages m ON m.kind = 'offer' AND m.status = 'sent' AND m.customer_id = e.customer_id
      AND m.payload->>'offerIssueId' = e.id::text
    LEFT JOIN customers c ON c.id = e.customer_id`;
  let buttonsRemoved = 0;
  if (channel.removeButtons)
    for (const { chatId, providerId } of messages) {
      if (chatId === null || providerId === null) continue;
      if (await channel.removeButtons(BigInt(chatId), providerId)) buttonsRemoved++;
    }
  return { expired: messages.length, buttonsRemoved };
}
