// Linking a Telegram chat to a customer: a one-time deep link made by staff or the CLI, or the
// customer's own phone number shared with Telegram's contact button. Linking is idempotent:
// the same chat linking again is fine; a token used by another chat, or expired, is refused.
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
): Promise<Result<LinkedChat, LinkByTokenError>> {
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

async function attachChat(
  db: Database,
  customerId: number,
  chat: ChatIdentity,
  now: Date,
  method: string,
): Promise<LinkedChat["status"]> {
  const current = await db.prisma.customer.findUnique({ where: { id: customerId }, select: { telegramChatId: true } });
  if (current?.telegramChatId === chat.chatId) return "already_linked";
  // A chat belongs to one customer: unlink it from anyone else first (telegram_chat_id is unique).
  await db.prisma.customer.updateMany({
    where: { telegramChatId: chat.chatId, id: { not: customerId } },
    data: { telegramChatId: null, telegramUserId: null },
  });
  await db.prisma.customer.update({
    where: { id: customerId },
    data: { telegramChatId: chat.chatId, telegramUserId: chat.userId, telegramLinkedAt: now, unreachableAt: null },
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
