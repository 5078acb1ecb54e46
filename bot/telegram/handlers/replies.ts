// Small helpers the handlers share: keyboards and the "who are you" answer for unlinked chats.
import { InlineKeyboard, Keyboard } from "grammy";
import type { RenderedMessage } from "../../../core/messaging/render";
import type { BotContext } from "../bot-context";
import { inlineKeyboard } from "../telegram-channel";

/** The longest text we take as feedback or a complaint; Telegram itself allows 4,096. */
export const MAX_TEXT = 2000;

export function sharePhoneKeyboard(ctx: BotContext): Keyboard {
  return new Keyboard().requestContact(ctx.tr("btn-share-phone")).resized().oneTime();
}

/** Tells an unlinked chat how to link; writes nothing. */
export async function replyUnlinked(ctx: BotContext): Promise<void> {
  if (ctx.callbackQuery) {
    await ctx.answerCallbackQuery({ text: ctx.tr("unlinked"), show_alert: true });
    return;
  }
  await ctx.reply(ctx.tr("unlinked"), { reply_markup: sharePhoneKeyboard(ctx) });
}

export async function replyRendered(ctx: BotContext, rendered: RenderedMessage): Promise<void> {
  await ctx.reply(rendered.text, { reply_markup: inlineKeyboard(rendered) });
}

export function yesNo(yesText: string, yesData: string, noText: string, noData: string): InlineKeyboard {
  return new InlineKeyboard().text(yesText, yesData).text(noText, noData);
}

/** Answers a button press with a short notice (always answer, so the client stops spinning). */
export async function answerCallback(
  ctx: BotContext,
  key?: string,
  vars?: Record<string, string | number>,
): Promise<void> {
  if (!ctx.callbackQuery) return;
  await ctx.answerCallbackQuery(key ? { text: ctx.tr(key, vars) } : {});
}

/** Removes the inline keyboard from the message a button was on (it has been answered). */
export async function dropKeyboard(ctx: BotContext): Promise<void> {
  if (!ctx.callbackQuery?.message) return;
  await ctx.editMessageReplyMarkup({ reply_markup: undefined }).catch(() => undefined);
}
