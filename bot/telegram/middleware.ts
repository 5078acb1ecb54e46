// The bot's guards, in order: private chats only (groups are ignored on purpose, nothing
// written), commands matched without regard to case, each update handled at least once and
// finished at most once (`processed_updates`), then who the customer is and which language to
// speak, and any command leaving the conversation's flow in progress.
import type { MiddlewareFn } from "grammy";
import { findChatCustomer, isUpdateHandled, markUpdateHandled, setReachable } from "../../core/conversation/chats";
import { onCommand } from "../../core/conversation/conversation";
import { pickLocale } from "../../core/messaging/locales";
import type { BotContext, BotDeps } from "./bot-context";

/** Ignores everything outside private chats: the bot talks to one customer at a time. */
export const privateChatsOnly: MiddlewareFn<BotContext> = async (ctx, next) => {
  if (ctx.chat?.type !== "private") return;
  await next();
};

/** The command at the start of a message, if any: its length in the text. */
function leadingCommandLength(ctx: BotContext): number {
  const entity = ctx.message?.entities?.find((e) => e.type === "bot_command" && e.offset === 0);
  return entity?.length ?? 0;
}

/** `/START` and `/Help` are `/start` and `/help`: the command word is lower-cased before routing. */
export const caseInsensitiveCommands: MiddlewareFn<BotContext> = async (ctx, next) => {
  const length = leadingCommandLength(ctx);
  const message = ctx.message;
  if (length && message?.text) {
    const command = message.text.slice(0, length);
    if (command !== command.toLowerCase())
      (message as { text: string }).text = command.toLowerCase() + message.text.slice(length);
  }
  await next();
};

/**
 * At-least-once handling that never finishes an update twice: an update whose marker exists is
 * dropped. The marker is written by the write that handles the update, in the same statement
 * (tickets, ticket messages), or after handling for updates that only read or reply; a crash
 * before either leaves no marker, so the redelivered update does the work.
 */
export function onceOnly(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const updateId = String(ctx.update.update_id);
    if (await isUpdateHandled(deps.db, "telegram", updateId)) {
      deps.log.debug({ updateId }, "duplicate update dropped");
      return;
    }
    await next();
    await markUpdateHandled(deps.db, "telegram", updateId);
  };
}

/** Loads the linked customer and picks the locale: chosen in /language, stored, or Telegram's. */
export function identify(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.deps = deps;
    ctx.customer = ctx.chat ? await findChatCustomer(deps.db, BigInt(ctx.chat.id)) : null;
    ctx.locale = pickLocale(
      ctx.session?.locale ?? ctx.customer?.locale ?? ctx.from?.language_code,
      deps.config.business.locale,
    );
    ctx.tr = (key, vars) => deps.translate(ctx.locale, key, vars);
    // Writing again after a block means the customer unblocked the bot.
    if (ctx.customer?.unreachableAt && !ctx.myChatMember)
      await setReachable(deps.db, ctx.customer.id, false, deps.now());
    if (leadingCommandLength(ctx) && ctx.session) ctx.session = onCommand(ctx.session);
    await next();
  };
}
