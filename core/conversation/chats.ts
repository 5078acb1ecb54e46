// What a channel needs to know about a chat, behind plain functions so adapters never touch the
// database: who is linked to it, their language, whether they blocked the bot, the stored
// conversation state, and the inbound updates: received (kept until handled), written (what their
// write did) and handled.
import { type Database } from "../db/client";
import { coalescedPer } from "../db/coalesce";
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

interface ChatRow {
  n: number;
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
}

type LoadChatInput = { marker: UpdateMarker; chatId: bigint; stateKey: string };

/** The snapshots of many updates in one query, one per input (row `n` answers input `n`). */
async function loadChats(db: Database, inputs: LoadChatInput[]): Promise<ChatSnapshot[]> {
  // Straight through the driver: this read comes with every update, and the ORM's own cost per
  // call was most of its time on PGlite. Times come as epoch milliseconds, parsed the same by
  // every driver. The chat id is unique among customers, so each input has one row; each table is
  // reached by its key from each input (lateral), never scanned whole for a batch.
  const rows = await db.queryRows<ChatRow>(
    `SELECT i.n::int AS n, u.handled_at IS NOT NULL AS handled, u.outcome, s.data,
       c.id, c.name, c.locale, c.marketing_consent, c.telegram_linked_by,
       (extract(epoch FROM c.unreachable_at) * 1000)::float8 AS unreachable_ms,
       t.id AS ticket_id, t.reference AS ticket_reference
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS i(source, update_id, state_key, chat_id, n)
     LEFT JOIN LATERAL (
       SELECT handled_at, outcome FROM processed_updates WHERE source = i.source AND update_id = i.update_id
     ) u ON true
     LEFT JOIN LATERAL (SELECT data FROM conversations WHERE key = i.state_key) s ON true
     LEFT JOIN LATERAL (
       SELECT * FROM customers WHERE telegram_chat_id = i.chat_id::bigint AND erased_at IS NULL
     ) c ON true
     LEFT JOIN LATERAL (
       SELECT id, reference FROM tickets WHERE customer_id = c.id AND status IN ('open', 'pending')
       ORDER BY created_at DESC LIMIT 1
     ) t ON true`,
    [
      inputs.map((i) => i.marker.source),
      inputs.map((i) => i.marker.updateId),
      inputs.map((i) => i.stateKey),
      inputs.map((i) => String(i.chatId)),
    ],
  );
  const byInput = new Map(rows.map((row) => [row.n, row]));
  return inputs.map((_, i) => snapshotOf(byInput.get(i + 1)!));
}

function snapshotOf(row: ChatRow): ChatSnapshot {
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

const loadCoalesced = coalescedPer((db: Database) => (inputs: LoadChatInput[]) => loadChats(db, inputs));

/**
 * Loads a chat's snapshot for an update (see `ChatSnapshot`). Concurrent calls on one database are
 * read together in one query (core/db/coalesce.ts): the bot makes one for every update.
 */
export function loadChat(db: Database, input: LoadChatInput): Promise<ChatSnapshot> {
  return loadCoalesced(db, input);
}

type FinishInput = { marker: UpdateMarker; state?: { key: string; data: ConversationState | null } };

/** Finishes many updates in one statement (see `finishUpdate`). */
async function finishUpdates(db: Database, inputs: FinishInput[]): Promise<void[]> {
  // One write per key and per marker (a statement may not upsert one row twice): the last given wins.
  const states = new Map<string, ConversationState | null>();
  const markers = new Map<string, UpdateMarker>();
  for (const input of inputs) {
    if (input.state) states.set(input.state.key, input.state.data);
    markers.set(JSON.stringify([input.marker.source, input.marker.updateId]), input.marker);
  }
  const kept = [...states].filter(([, data]) => data !== null);
  const dropped = [...states].filter(([, data]) => data === null).map(([key]) => key);
  await db.queryRows(
    `WITH saved AS (
       INSERT INTO conversations (key, data, updated_at)
       SELECT s.key, s.data::jsonb, now() FROM unnest($1::text[], $2::text[]) AS s(key, data)
       ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at RETURNING 1
     ),
     dropped AS (DELETE FROM conversations WHERE key = ANY($3::text[]) RETURNING 1)
     INSERT INTO processed_updates (source, update_id, processed_at, handled_at)
     SELECT m.source, m.update_id, now(), now() FROM unnest($4::text[], $5::text[]) AS m(source, update_id)
     ON CONFLICT (source, update_id) DO UPDATE SET handled_at = EXCLUDED.handled_at, payload = NULL`,
    [
      kept.map(([key]) => key),
      kept.map(([, data]) => JSON.stringify(data)),
      dropped,
      [...markers.values()].map((m) => m.source),
      [...markers.values()].map((m) => m.updateId),
    ],
  );
  return inputs.map(() => undefined);
}

/**
 * How long a finish waits for others to join its statement. The customer has had the replies by
 * then; only the chat's next update waits for it, and under load one statement for many updates
 * costs little more than one for a single update (on PGlite, about a tenth as much each).
 */
export const FINISH_GATHER_MS = 20;

const finishCoalesced = coalescedPer((db: Database) => (inputs: FinishInput[]) => finishUpdates(db, inputs), {
  gatherMs: FINISH_GATHER_MS,
});

/**
 * Finishes an update once its replies are sent: marks it handled and, in the same statement, stores
 * the chat's conversation state when it changed (`state` undefined: unchanged, nothing written;
 * `data` null: the state is dropped, as after an erasure). Concurrent calls on one database are
 * written together in one statement (core/db/coalesce.ts); when it fails, each of them fails.
 * A crash before this leaves the update unfinished, so it is handled again (see `loadChat`).
 */
export function finishUpdate(db: Database, input: FinishInput): Promise<void> {
  return finishCoalesced(db, input);
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
