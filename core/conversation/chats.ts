// What a channel needs to know about a chat, behind plain functions so adapters never touch the
// database: who is linked to it, their language, whether they blocked the bot, the stored
// conversation state, and the inbound updates: received (kept until handled), written (what their
// write did) and handled.
import { Prisma, type Database } from "../db/client";
import type { Locale } from "../messaging/locales";
import { sqlTimestamp } from "../messaging/outbox";
import type { OpenedTicket, UpdateMarker, UpdateOutcome } from "../tickets/tickets";
import type { ConversationState } from "./state";

export interface ChatCustomer {
  id: number;
  name: string | null;
  locale: string | null;
  marketingConsent: boolean;
  unreachableAt: Date | null;
  /** How the chat was linked: "token", "phone", or null (an import, or before this was kept). */
  telegramLinkedBy: string | null;
}

/** A chat's customer as `loadChat` reads them: with their newest ticket not resolved, if any. */
export interface ChatSnapshotCustomer extends ChatCustomer {
  openTicket: OpenedTicket | null;
}

/** The (not erased) customer linked to a Telegram chat, or null. */
export async function findChatCustomer(db: Database, chatId: bigint): Promise<ChatCustomer | null> {
  return db.prisma.customer.findFirst({
    where: { telegramChatId: chatId, erasedAt: null },
    select: {
      id: true,
      name: true,
      locale: true,
      marketingConsent: true,
      unreachableAt: true,
      telegramLinkedBy: true,
    },
  });
}

/**
 * Whether the chat has proved it is the customer's: linked by a one-time link (confirmed by the
 * chat it replaced, if any) or by the customer's own phone contact. Only such a chat gets their
 * data (/mydata); others are asked to share their phone number first.
 */
export function chatProvedOwnership(customer: Pick<ChatCustomer, "telegramLinkedBy">): boolean {
  return customer.telegramLinkedBy === "token" || customer.telegramLinkedBy === "phone";
}

/** Records that the customer blocked (`blocked: true`) or unblocked the bot. */
export async function setReachable(db: Database, customerId: number, blocked: boolean, now: Date): Promise<void> {
  await db.prisma.customer.update({ where: { id: customerId }, data: { unreachableAt: blocked ? now : null } });
}

/** A newly linked customer without a stored language gets the chat's, so offers and surveys use it. */
export async function rememberLocale(db: Database, customerId: number, locale: Locale): Promise<void> {
  await db.prisma.customer.updateMany({ where: { id: customerId, locale: null }, data: { locale } });
}

/** The language the customer chose. */
export async function setCustomerLocale(db: Database, customerId: number, locale: Locale): Promise<void> {
  await db.prisma.customer.update({ where: { id: customerId }, data: { locale } });
}

/**
 * What the handling of one inbound update starts from, read in one query: whether the update was
 * already handled, what its write recorded if the write committed but the handling did not finish
 * (a crash after the write: replies are rebuilt from it, nothing is written again), the customer
 * linked to the chat with their open ticket (as `findOpenTicket`), and the chat's stored
 * conversation state.
 */
export interface ChatSnapshot {
  handled: boolean;
  recorded: UpdateOutcome | null;
  customer: ChatSnapshotCustomer | null;
  state: ConversationState | undefined;
}

/** Loads a chat's snapshot for an update (see `ChatSnapshot`). */
export async function loadChat(
  db: Database,
  input: { marker: UpdateMarker; chatId: bigint; stateKey: string },
): Promise<ChatSnapshot> {
  // Straight through the driver: this read comes with every update, and the ORM's own cost per
  // call was most of its time on PGlite. Times come as epoch milliseconds, parsed the same by
  // every driver.
  const rows = await db.queryRows<{
    handled: boolean | null;
    outcome: UpdateOutcome | null;
    data: ConversationState | null;
    id: number | null;
    name: string | null;
    locale: string | null;
    marketing_consent: boolean | null;
    telegram_linked_by: string | null;
    unreachable_ms: number | null;
    ticket_id: number | null;
    ticket_reference: string | null;
  }>(
    `SELECT u.handled_at IS NOT NULL AS handled, u.outcome, s.data,
       c.id, c.name, c.locale, c.marketing_consent, c.telegram_linked_by,
       (extract(epoch FROM c.unreachable_at) * 1000)::float8 AS unreachable_ms,
       t.id AS ticket_id, t.reference AS ticket_reference
     FROM (SELECT 1) AS one
     LEFT JOIN processed_updates u ON u.source = $1 AND u.update_id = $2
     LEFT JOIN conversations s ON s.key = $3
     LEFT JOIN customers c ON c.telegram_chat_id = $4::bigint AND c.erased_at IS NULL
     LEFT JOIN LATERAL (
       SELECT id, reference FROM tickets WHERE customer_id = c.id AND status IN ('open', 'pending')
       ORDER BY created_at DESC LIMIT 1
     ) t ON true`,
    [input.marker.source, input.marker.updateId, input.stateKey, String(input.chatId)],
  );
  const row = rows[0]!;
  return {
    handled: row.handled === true,
    recorded: row.outcome,
    customer:
      row.id === null
        ? null
        : {
            id: row.id,
            name: row.name,
            locale: row.locale,
            marketingConsent: row.marketing_consent === true,
            telegramLinkedBy: row.telegram_linked_by,
            unreachableAt: row.unreachable_ms === null ? null : new Date(row.unreachable_ms),
            openTicket:
              row.ticket_id === null || row.ticket_reference === null
                ? null
                : { id: row.ticket_id, reference: row.ticket_reference },
          },
    state: row.data ?? undefined,
  };
}

/**
 * Finishes an update once its replies are sent: marks it handled and, in the same statement, stores
 * the chat's conversation state when it changed (`state` undefined: unchanged, nothing written;
 * `data` null: the state is dropped, as after an erasure).
 * A crash before this leaves the update unfinished, so it is handled again (see `loadChat`).
 */
export async function finishUpdate(
  db: Database,
  input: { marker: UpdateMarker; state?: { key: string; data: ConversationState | null } },
): Promise<void> {
  const { source, updateId } = input.marker;
  const saveState = !input.state
    ? Prisma.sql`saved AS (SELECT 1)`
    : input.state.data === null
      ? Prisma.sql`saved AS (DELETE FROM conversations WHERE key = ${input.state.key} RETURNING 1)`
      : Prisma.sql`saved AS (
        INSERT INTO conversations (key, data, updated_at) VALUES (${input.state.key}, ${JSON.stringify(input.state.data)}::jsonb, now())
        ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at RETURNING 1)`;
  await db.prisma.$executeRaw`
    WITH ${saveState}
    INSERT INTO processed_updates (source, update_id, processed_at, handled_at) VALUES (${source}, ${updateId}, now(), now())
    ON CONFLICT (source, update_id) DO UPDATE SET handled_at = EXCLUDED.handled_at, payload = NULL`;
}

/**
 * Keeps polled updates before Telegram is told they arrived (the next getUpdates confirms them):
 * a process killed while handling one finds it again at start (`unfinishedUpdates`). One statement
 * per batch; an update already recorded is left as it is.
 */
export async function recordReceived(
  db: Database,
  source: string,
  updates: { updateId: string; payload: object }[],
): Promise<void> {
  if (updates.length === 0) return;
  await db.prisma.$executeRaw`
    INSERT INTO processed_updates (source, update_id, processed_at, payload)
    SELECT ${source}, u.id, now(), u.payload
    FROM unnest(${updates.map((u) => u.updateId)}::text[], ${updates.map((u) => JSON.stringify(u.payload))}::jsonb[]) AS u(id, payload)
    ON CONFLICT (source, update_id) DO NOTHING`;
}

/**
 * Forgets an update that was received and is ignored on purpose (nothing else is written for it),
 * so it is not taken for an unfinished one.
 */
export async function forgetUpdate(db: Database, marker: UpdateMarker): Promise<void> {
  await db.prisma.$executeRaw`
    DELETE FROM processed_updates
    WHERE source = ${marker.source} AND update_id = ${marker.updateId} AND handled_at IS NULL AND outcome IS NULL`;
}

/** Updates received since `since` and never finished (the process died, or their handling failed), oldest first. */
export async function unfinishedUpdates(db: Database, source: string, since: Date): Promise<object[]> {
  const rows = await db.prisma.$queryRaw<{ payload: object }[]>`
    SELECT payload FROM processed_updates
    WHERE source = ${source} AND handled_at IS NULL AND payload IS NOT NULL AND processed_at >= ${sqlTimestamp(since)}
    ORDER BY processed_at, length(update_id), update_id`;
  return rows.map((r) => r.payload);
}
