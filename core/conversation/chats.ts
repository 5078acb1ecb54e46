// What a channel needs to know about a chat, behind plain functions so adapters never touch the
// database: who is linked to it, their language, whether they blocked the bot, which inbound
// updates were already handled, and the stored conversation state.
import type { Database } from "../db/client";
import type { Locale } from "../messaging/locales";
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

/** Whether an inbound update was already handled (its marker exists). */
export async function isUpdateHandled(db: Database, source: string, updateId: string): Promise<boolean> {
  const row = await db.prisma.processedUpdate.findUnique({
    where: { source_updateId: { source, updateId } },
    select: { updateId: true },
  });
  return row !== null;
}

/**
 * Marks an inbound update handled once its handling finished. Writes that change the store mark
 * it in their own statement (`UpdateMarker`); this covers updates that only read or reply.
 */
export async function markUpdateHandled(db: Database, source: string, updateId: string): Promise<void> {
  await db.prisma.$executeRaw`
    INSERT INTO processed_updates (source, update_id, processed_at) VALUES (${source}, ${updateId}, now())
    ON CONFLICT DO NOTHING`;
}

/**
 * The stored conversation state per chat key (`conversations`), shaped as grammY's storage adapter
 * (read / write / delete) without depending on it. Reads remember what was loaded; a write of the
 * same value (or of an empty state where none existed) is skipped, so an update that changes
 * nothing writes nothing.
 */
export class ConversationStore {
  private readonly loaded = new Map<string, string | undefined>();

  constructor(private readonly db: Database) {}

  async read(key: string): Promise<ConversationState | undefined> {
    const row = await this.db.prisma.conversation.findUnique({ where: { key }, select: { data: true } });
    const data = row ? (row.data as ConversationState) : undefined;
    this.loaded.set(key, data === undefined ? undefined : JSON.stringify(data));
    return data;
  }

  async write(key: string, value: ConversationState): Promise<void> {
    const json = JSON.stringify(value);
    const before = this.loaded.get(key);
    this.loaded.delete(key);
    if (json === before || (before === undefined && json === "{}")) return;
    await this.db.prisma.conversation.upsert({
      where: { key },
      create: { key, data: value as object },
      update: { data: value as object },
    });
  }

  async delete(key: string): Promise<void> {
    const hadRow = this.loaded.has(key) ? this.loaded.get(key) !== undefined : true;
    this.loaded.delete(key);
    if (hadRow) await this.db.prisma.conversation.deleteMany({ where: { key } });
  }
}
