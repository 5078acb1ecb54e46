// Linking a Telegram chat to a customer: a one-time deep link made by staff or the CLI, or the
// customer's own phone number shared with Telegram's contact button. Linking is idempotent:
// the same chat linking again is fine; a token used by another chat, or expired, is refused.
// A link opened from a second chat while the account is linked to a first one does not move the
// account: the first chat is asked, and only its "yes" moves it (`confirmLinkMove`). How a chat
// was linked is kept (`telegram_linked_by`): only a link or the customer's own phone number proves
// the chat is theirs, which is what /mydata asks for.
import { randomBytes } from "node:crypto";
import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";
import { findCustomerByRef } from "./customer-ref";
import { parsePhone, type PhoneRegion } from "./phone";

export interface ChatIdentity {
  chatId: bigint;
  userId: bigint;
}

export interface LinkTokenCreated {
  token: string;
  link: string;
  customerId: number;
  expiresAt: Date;
}

export type LinkTokenError = { type: "customer_not_found"; ref: string } | { type: "customer_erased" };

export interface LinkedChat {
  customerId: number;
  /** `already_linked`: this chat was linked to this customer before (idempotent repeat). */
  status: "linked" | "already_linked";
}

/** How a chat proved it is the customer's: a one-time link, or their own phone contact. */
export type LinkMethod = "token" | "phone";

/**
 * The account is linked to another chat, which must confirm the move. `asked` is false when that
 * chat was already asked for this same chat (a repeated /start): ask once.
 */
export interface MoveRequested {
  customerId: number;
  status: "move_requested";
  currentChatId: bigint;
  /** The customer's language, for the question to the current chat. */
  locale: string | null;
  asked: boolean;
}

export type LinkByTokenError = { type: "unknown" } | { type: "expired" } | { type: "used" };
export type LinkByPhoneError = { type: "not_found" } | { type: "ambiguous" };

/** Builds the deep link for a token; `bot` is the bot's username (with or without "@"). */
export function deepLink(botUsername: string, token: string): string {
  return `https://t.me/${botUsername.replace(/^@/, "")}?start=${token}`;
}

/**
 * Makes a one-time token for a customer (external id, e-mail, phone, or numeric id) and its
 * deep link. Tokens are 32 url-safe characters (Telegram's start payload allows 64).
 */
export async function createLinkToken(
  db: Database,
  customerRef: string | number,
  options: { now: Date; ttlHours: number; botUsername: string; actor?: string },
): Promise<Result<LinkTokenCreated, LinkTokenError>> {
  const customer =
    typeof customerRef === "number"
      ? await db.prisma.customer.findUnique({ where: { id: customerRef }, select: { id: true, erasedAt: true } })
      : await findCustomerByRef(db, customerRef);
  if (!customer) return err({ type: "customer_not_found", ref: String(customerRef) });
  if ("erasedAt" in customer && customer.erasedAt) return err({ type: "customer_erased" });
  const token = randomBytes(24).toString("base64url");
  const expiresAt = new Date(options.now.getTime() + options.ttlHours * 3_600_000);
  await db.prisma.linkToken.create({ data: { token, customerId: customer.id, expiresAt, createdAt: options.now } });
  await db.prisma.auditLog.create({
    data: {
      actor: options.actor ?? "cli",
      action: "link.token_created",
      entityType: "customer",
      entityId: String(customer.id),
      details: { expiresAt: expiresAt.toISOString() },
      createdAt: options.now,
    },
  });
  return ok({ token, link: deepLink(options.botUsername, token), customerId: customer.id, expiresAt });
}

/**
 * Links the chat with a token from a deep link. The same chat using its token again gets
 * `already_linked`; another chat gets `used`.
 */
export async function linkByToken(
  db: Database,
  token: string,
  chat: ChatIdentity,
  options: { now: Date },
): Promise<Result<LinkedChat | MoveRequested, LinkByTokenError>> {
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(token)) return err({ type: "unknown" });
  const row = await db.prisma.linkToken.findUnique({ where: { token } });
  if (!row) return err({ type: "unknown" });
  if (row.usedAt) {
    if (row.usedByChat === chat.chatId) {
      const customer = await db.prisma.customer.findUnique({
        where: { id: row.customerId },
        select: { telegramChatId: true },
      });
      if (customer?.telegramChatId === chat.chatId) return ok({ customerId: row.customerId, status: "already_linked" });
    }
    return err({ type: "used" });
  }
  if (row.expiresAt.getTime() <= options.now.getTime()) return err({ type: "expired" });
  const customer = await db.prisma.customer.findUnique({
    where: { id: row.customerId },
    select: { telegramChatId: true, unreachableAt: true, locale: true },
  });
  // Linked to another chat that can still answer: that chat decides. A chat that blocked the bot
  // cannot, and the link alone moves the account as before.
  if (customer?.telegramChatId != null && customer.telegramChatId !== chat.chatId && !customer.unreachableAt) {
    const asked = await db.prisma.linkToken.updateMany({
      where: { token, usedAt: null, OR: [{ pendingChatId: null }, { pendingChatId: { not: chat.chatId } }] },
      data: { pendingChatId: chat.chatId, pendingUserId: chat.userId, pendingAt: options.now },
    });
    return ok({
      customerId: row.customerId,
      status: "move_requested",
      currentChatId: customer.telegramChatId,
      locale: customer.locale,
      asked: asked.count > 0,
    });
  }
  // Claim the token first: of two chats racing for it, one wins.
  const claimed = await db.prisma.linkToken.updateMany({
    where: { token, usedAt: null },
    data: { usedAt: options.now, usedByChat: chat.chatId },
  });
  if (claimed.count === 0) return err({ type: "used" });
  const status = await attachChat(db, row.customerId, chat, options.now, "token");
  return ok({ customerId: row.customerId, status });
}

/**
 * Links the chat to the one customer whose phone is this number. Both sides are compared in E.164,
 * stored numbers read in `defaultRegion` when they have no country code ("8 (912) 000-11-22").
 */
export async function linkByPhone(
  db: Database,
  phone: string,
  chat: ChatIdentity,
  options: { now: Date; defaultRegion?: PhoneRegion },
): Promise<Result<LinkedChat, LinkByPhoneError>> {
  const shared = parsePhone(phone, options.defaultRegion);
  if (!shared) return err({ type: "not_found" });
  // Candidates by the national number's digits at the end, then each stored number parsed.
  const candidates = await db.prisma.$queryRaw<{ id: number; phone: string }[]>`
    SELECT id, phone FROM customers
    WHERE erased_at IS NULL AND phone IS NOT NULL
      AND right(regexp_replace(phone, '\\D', '', 'g'), ${shared.national.length}) = ${shared.national}
    LIMIT 20`;
  const matches = candidates.filter((c) => parsePhone(c.phone, options.defaultRegion)?.e164 === shared.e164);
  if (matches.length === 0) return err({ type: "not_found" });
  if (matches.length > 1) return err({ type: "ambiguous" });
  const status = await attachChat(db, matches[0]!.id, chat, options.now, "phone");
  return ok({ customerId: matches[0]!.id, status });
}

export type MoveError = { type: "stale" };

/** What the current chat decided about a move; `newChatId` is the chat that asked. */
export interface MoveDecision {
  customerId: number;
  status: "moved" | "kept";
  newChatId: bigint;
}

/**
 * The chat the account is linked to answers a move request made through `token`: "yes" links
 * the account to the chat that opened the link (and unlinks this one), "no" keeps it here and
 * spends the link. Only the linked chat may answer, once, before the link expires.
 * @returns `stale` for an answered, expired or someone else's request.
 */
export async function confirmLinkMove(
  db: Database,
  token: string,
  answeringChatId: bigint,
  options: { now: Date; confirm: boolean },
): Promise<Result<MoveDecision, MoveError>> {
  const row = await db.prisma.linkToken.findUnique({ where: { token }, include: { customer: true } });
  if (
    !row ||
    row.usedAt ||
    row.pendingChatId === null ||
    row.pendingUserId === null ||
    row.expiresAt.getTime() <= options.now.getTime() ||
    row.customer.telegramChatId !== answeringChatId ||
    row.customer.erasedAt
  )
    return err({ type: "stale" });
  const newChat = { chatId: row.pendingChatId, userId: row.pendingUserId };
  const claimed = await db.prisma.linkToken.updateMany({
    where: { token, usedAt: null, pendingChatId: newChat.chatId },
    data: { usedAt: options.now, usedByChat: options.confirm ? newChat.chatId : null },
  });
  if (claimed.count === 0) return err({ type: "stale" });
  if (options.confirm) await attachChat(db, row.customerId, newChat, options.now, "token");
  await db.prisma.auditLog.create({
    data: {
      actor: `telegram:${answeringChatId}`,
      action: options.confirm ? "link.move_confirmed" : "link.move_refused",
      entityType: "customer",
      entityId: String(row.customerId),
      createdAt: options.now,
    },
  });
  return ok({ customerId: row.customerId, status: options.confirm ? "moved" : "kept", newChatId: newChat.chatId });
}

async function attachChat(
  db: Database,
  customerId: number,
  chat: ChatIdentity,
  now: Date,
  method: LinkMethod,
): Promise<LinkedChat["status"]> {
  const current = await db.prisma.customer.findUnique({
    where: { id: customerId },
    select: { telegramChatId: true, telegramLinkedBy: true },
  });
  if (current?.telegramChatId === chat.chatId) {
    // Linked before without proof (an import): the link or the contact proves it now.
    if (current.telegramLinkedBy === null)
      await db.prisma.customer.update({ where: { id: customerId }, data: { telegramLinkedBy: method } });
    return "already_linked";
  }
  // A chat belongs to one customer: unlink it from anyone else first (telegram_chat_id is unique).
  await db.prisma.customer.updateMany({
    where: { telegramChatId: chat.chatId, id: { not: customerId } },
    data: { telegramChatId: null, telegramUserId: null, telegramLinkedBy: null },
  });
  await db.prisma.customer.update({
    where: { id: customerId },
    data: {
      telegramChatId: chat.chatId,
      telegramUserId: chat.userId,
      telegramLinkedAt: now,
      telegramLinkedBy: method,
      unreachableAt: null,
    },
  });
  await db.prisma.auditLog.create({
    data: {
      actor: `telegram:${chat.chatId}`,
      action: "link.chat_linked",
      entityType: "customer",
      entityId: String(customerId),
      details: { method },
      createdAt: now,
    },
  });
  return "linked";
}
