// /stop, opting back in (confirmed), /mydata, /forget (confirmed), /language.
import { Composer, InlineKeyboard, InputFile } from "grammy";
import { chatProvedOwnership, setCustomerLocale } from "../../../core/conversation/chats";
import { awaitConfirmation, confirmationPending, onCommand } from "../../../core/conversation/conversation";
import { eraseCustomer, exportCustomerData, optIn, optOut } from "../../../core/consent/consent";
import { encodeCallback, type CallbackAction } from "../../../core/messaging/callback-data";
import type { BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, replyUnlinked, sharePhoneKeyboard, yesNo } from "./replies";

export const consentHandlers = new Composer<BotContext>();

consentHandlers.command("stop", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  const result = await optOut(ctx.deps.db, ctx.customer.id, {
    now: ctx.deps.now(),
    actor: `telegram:${ctx.chat.id}`,
    reason: "/stop",
  });
  await ctx.reply(ctx.tr(result.ok && !result.value.changed ? "optout-already" : "optout-done"));
});

consentHandlers.command("mydata", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  if (!chatProvedOwnership(ctx.customer)) {
    await ctx.reply(ctx.tr("mydata-verify"), { reply_markup: sharePhoneKeyboard(ctx) });
    return;
  }
  const result = await exportCustomerData(ctx.deps.db, ctx.customer.id, {
    now: ctx.deps.now(),
    actor: `telegram:${ctx.chat.id}`,
    locale: ctx.locale,
  });
  if (!result.ok) return replyUnlinked(ctx);
  const file = new InputFile(Buffer.from(JSON.stringify(result.value, null, 2), "utf8"), "my-data.json");
  await ctx.replyWithDocument(file, { caption: ctx.tr("mydata-caption") });
});

consentHandlers.command("forget", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  ctx.session = awaitConfirmation(ctx.session, "confirm_forget", ctx.deps.now());
  await ctx.reply(ctx.tr("forget-confirm"), {
    reply_markup: yesNo(
      ctx.tr("forget-btn-yes"),
      encodeCallback({ type: "forget", confirm: true }),
      ctx.tr("forget-btn-no"),
      encodeCallback({ type: "forget", confirm: false }),
    ),
  });
});

consentHandlers.command("language", async (ctx) => {
  await ctx.reply(ctx.tr("language-choose"), {
    reply_markup: new InlineKeyboard()
      .text("English", encodeCallback({ type: "language", locale: "en" }))
      .text("Русский", encodeCallback({ type: "language", locale: "ru" })),
  });
});

/** Button presses for consent, erasure and language. */
export async function handleConsentCallback(
  ctx: BotContext,
  action: Extract<CallbackAction, { type: "forget" | "optin" | "language" }>,
): Promise<void> {
  if (action.type === "language") {
    ctx.session.locale = action.locale;
    ctx.locale = action.locale;
    if (ctx.customer) await setCustomerLocale(ctx.deps.db, ctx.customer.id, action.locale);
    await answerCallback(ctx);
    await dropKeyboard(ctx);
    await ctx.reply(ctx.tr("language-set"));
    return;
  }
  if (!ctx.customer) return replyUnlinked(ctx);
  const expected = action.type === "forget" ? "confirm_forget" : "confirm_optin";
  const now = ctx.deps.now();
  if (!confirmationPending(ctx.session, expected, now, ctx.deps.config.conversation.timeoutMinutes))
    return answerCallback(ctx, "callback-stale");
  ctx.session = onCommand(ctx.session);
  await answerCallback(ctx);
  await dropKeyboard(ctx);
  if (action.type === "optin") {
    if (action.confirm)
      await optIn(ctx.deps.db, ctx.customer.id, { now, actor: `telegram:${ctx.chat!.id}`, source: "telegram" });
    await ctx.reply(ctx.tr(action.confirm ? "optin-done" : "optin-cancel"));
    return;
  }
  if (!action.confirm) {
    await ctx.reply(ctx.tr("forget-cancel"));
    return;
  }
  const text = ctx.tr("forget-done");
  await eraseCustomer(ctx.deps.db, ctx.customer.id, {
    now,
    actor: `telegram:${ctx.chat!.id}`,
    erasure: ctx.deps.config.erasure,
  });
  // The conversation row is gone with the erasure; a null session keeps it from being written back.
  (ctx as { session: unknown }).session = null;
  await ctx.reply(text);
}
