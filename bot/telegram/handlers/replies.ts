// Small helpers the handlers share: turning core's channel-neutral replies into Telegram messages,
// keyboards, and the "who are you" answer for unlinked chats.
import { InlineKeyboard, Keyboard } from "grammy";
import type { Reply } from "../../../core/conversation/state";
import { encodeCallback } from "../../../core/messaging/callback-data";
import type { RenderedMessage } from "../../../core/messaging/render";
import type { BotContext } from "../bot-context";
import { inlineKeyboard } from "../telegram-channel";

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

/** Sends core's replies in the chat's language, with their buttons. */
export async function sendReplies(ctx: BotContext, replies: Reply[]): Promise<void> {
  for (const reply of replies) {
    const text = reply.lines.map((line) => ctx.tr(line.key, line.vars)).join("\n\n");
    if (reply.requestPhone && !ctx.callbackQuery) {
      await ctx.reply(text, { reply_markup: sharePhoneKeyboard(ctx) });
      continue;
    }
    if (reply.buttons?.length) {
      const keyboard = new InlineKeyboard();
      for (const row of reply.buttons) {
        for (const button of row)
          keyboard.text(
            typeof button.label === "string" ? button.label : ctx.tr(button.label.key, button.label.vars),
            encodeCallback(button.action),
          );
        keyboard.row();
      }
      await ctx.reply(text, { reply_markup: keyboard });
      continue;
    }
    await ctx.reply(text, reply.removeKeyboard ? { reply_markup: { remove_keyboard: true } } : {});
  }
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
  // An empty inline keyboard removes the buttons; an already bare message ("not modified") is fine.
  await ctx.editMessageReplyMarkup({ reply_markup: { inline_keyboard: [] } }).catch(() => undefined);
}
