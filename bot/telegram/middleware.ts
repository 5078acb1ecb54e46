// The bot's guards, in order: private chats only (groups are ignored on purpose, nothing
// written), commands matched without regard to case, each update handled at least once and
// finished at most once (`processed_updates`, read with the customer and the conversation state in
// one query), then which language to speak, and any command leaving the conversation's flow in
// progress.
import type { MiddlewareFn } from "grammy";
import { finishUpdate, forgetUpdate, loadChat, setReachable } from "../../core/conversation/chats";
import { onCommand } from "../../core/conversation/conversation";
import type { ConversationState } from "../../core/conversation/state";
import { pickLocale } from "../../core/messaging/locales";
import type { BotContext, BotDeps } from "./bot-context";

/** Ignores everything outside private chats: the bot talks to one customer at a time. */
export function privateChatsOnly(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    if (ctx.chat?.type === "private") return next();
    // A polled update is kept until handled: forgotten, so it is not taken for an unfinished one.
    await forgetUpdate(deps.db, { source: "telegram", updateId: String(ctx.update.update_id) });
  };
}

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
 * At-least-once handling that never finishes an update twice. One query loads what the update
 * needs (was it handled, what its write recorded, the linked customer, the conversation state);
 * an update already handled is dropped. After the handlers, one statement marks it handled and
 * stores the state if it changed (concurrent updates are read together in one query and finished
 * together in one statement: core/db/coalesce.ts). Writes that change the store record their
 * outcome with the update's marker in their own statement (`UpdateMarker`), so an update killed
 * after its write and before this finish is answered from that outcome when it comes again,
 * without writing again.
 */
export function onceOnly(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const chat = ctx.chat!;
    const marker = { source: "telegram", updateId: String(ctx.update.update_id) };
    const stateKey = `tg:${chat.id}`;
    const loaded = await loadChat(deps.db, { marker, chatId: BigInt(chat.id), stateKey });
    if (loaded.handled) {
      deps.log.debug({ updateId: marker.updateId }, "duplicate update dropped");
      return;
    }
    const before = JSON.stringify(loaded.state ?? {});
    ctx.session = loaded.state ?? {};
    ctx.customer = loaded.customer;
    ctx.recorded = loaded.recorded;
    await next();
    // A handler sets the state to null to drop it (an erasure removed the row with the customer).
    const data = (ctx.session as ConversationState | null | undefined) ?? null;
    const changed = data === null ? loaded.state !== undefined : JSON.stringify(data) !== before;
    await finishUpdate(deps.db, { marker, state: changed ? { key: stateKey, data } : undefined });
  };
}

/** Picks the locale (chosen in /language, stored, or Telegram's) for the customer `onceOnly` loaded. */
export function identify(deps: BotDeps): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.deps = deps;
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
