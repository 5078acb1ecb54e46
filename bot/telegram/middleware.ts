// The bot's guards, in order: private chats only (groups are ignored on purpose, nothing
// written), each update handled once (`processed_updates`), then who the customer is and which
// language to speak.
import type { MiddlewareFn } from "grammy";
import { Prisma } from "../../core/db/client";
import { pickLocale } from "../../core/messaging/locales";
import type { BotContext, BotDeps } from "./bot-context";

/** Ignores everything outside private chats: the bot talks to one customer at a time. */
export const privateChatsOnly: MiddlewareFn<BotContext> = async (ctx, next) => {
  if (ctx.chat?.type !== "private") return;
  await next();
};

/**
 * Processes each update once: the update id is inserted before handling (ON CONFLICT DO
 * NOTHING); a redelivered update finds it there and is dropped. If handling throws, the row is
 * removed so a redelivery can try again.
 */
export function onceOnly(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const updateId = String(ctx.update.update_id);
    const inserted = await deps.db.prisma.$executeRaw`
      INSERT INTO processed_updates (source, update_id, processed_at) VALUES ('telegram', ${updateId}, now())
      ON CONFLICT DO NOTHING`;
    if (inserted === 0) {
      deps.log.debug({ updateId }, "duplicate update dropped");
      return;
    }
    try {
      await next();
    } catch (error) {
      await deps.db.prisma
        .$executeRaw`DELETE FROM processed_updates WHERE source = 'telegram' AND update_id = ${updateId}`;
      throw error;
    }
  };
}

/** Loads the linked customer and picks the locale: chosen in /language, stored, or Telegram's. */
export function identify(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.deps = deps;
    const chatId = ctx.chat ? BigInt(ctx.chat.id) : null;
    ctx.customer =
      chatId === null
        ? null
        : await deps.db.prisma.customer.findFirst({
            where: { telegramChatId: chatId, erasedAt: null },
            select: { id: true, name: true, locale: true, marketingConsent: true, unreachableAt: true },
          });
    ctx.locale = pickLocale(
      ctx.session?.locale ?? ctx.customer?.locale ?? ctx.from?.language_code,
      deps.config.business.locale,
    );
    ctx.tr = (key, vars) => deps.translate(ctx.locale, key, vars);
    // Writing again after a block means the customer unblocked the bot.
    if (ctx.customer?.unreachableAt) {
      await deps.db.prisma.customer.update({ where: { id: ctx.customer.id }, data: { unreachableAt: null } });
    }
    await next();
  };
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}
