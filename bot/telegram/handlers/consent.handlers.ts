// /stop, opting back in (confirmed), /mydata, /forget (confirmed), /language.
import { Composer, InlineKeyboard, InputFile } from "grammy";
import { eraseCustomer, exportCustomerData, optIn, optOut } from "../../../core/consent/consent";
import { encodeCallback, type CallbackAction } from "../../../core/messaging/callback-data";
import type { BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, replyUnlinked, yesNo } from "./replies";

export const consentHandlers = new Composer<BotContext>();

consentHandlers.command("stop", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  const result = await optOut(ctx.deps.db, ctx.customer.id, {
    now: ctx.deps.now(),
    actor: `telegram:${ctx.chat.id}`,
    reason: "/stop",
  });
  if (ctx.session.flow?.type === "servqual") ctx.session.flow = undefined;
  await ctx.reply(ctx.tr(result.ok && !result.value.changed ? "optout-already" : "optout-done"));
});

consentHandlers.command("mydata", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  const result = await exportCustomerData(ctx.deps.db, ctx.customer.id, {
    now: ctx.deps.now(),
    actor: `telegram:${ctx.chat.id}`,
  });
  if (!result.ok) return replyUnlinked(ctx);
  const file = new InputFile(Buffer.from(JSON.stringify(result.value, null, 2), "utf8"), "my-data.json");
  await ctx.replyWithDocument(file, { caption: ctx.tr("mydata-caption") });
});

consentHandlers.command("forget", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  ctx.session.flow = { type: "confirm_forget" };
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
    if (ctx.customer)
      await ctx.deps.db.prisma.customer.update({ where: { id: ctx.customer.id }, data: { locale: action.locale } });
    await answerCallback(ctx);
    await dropKeyboard(ctx);
    await ctx.reply(ctx.tr("language-set"));
    return;
  }
  if (!ctx.customer) return replyUnlinked(ctx);
  const expected = action.type === "forget" ? "confirm_forget" : "confirm_optin";
  if (ctx.session.flow?.type !== expected) return answerCallback(ctx, "callback-stale");
  ctx.session.flow = undefined;
  await answerCallback(ctx);
  await dropKeyboard(ctx);
  const now = ctx.deps.now();
  if (action.type === "optin") {
    if (action.confirm) await optIn(ctx.deps.db, ctx.customer.id, { now, actor: `telegram:${ctx.chat!.id}` });
    await ctx.reply(ctx.tr(action.confirm ? "optin-done" : "optin-cancel"));
    return;
  }
  if (!action.confirm) {
    await ctx.reply(ctx.tr("forget-cancel"));
    return;
  }
  const text = ctx.tr("forget-done");
  await eraseCustomer(ctx.deps.db, ctx.customer.id, { now, actor: `telegram:${ctx.chat!.id}` });
  // The conversation row is gone with the erasure; a null session keeps grammY from writing it back.
  (ctx as { session: unknown }).session = null;
  await ctx.reply(text);
}
