// /start (with a deep-link token, or to opt back in), the shared contact, /help.
import { Composer } from "grammy";
import { linkByPhone, linkByToken } from "../../../core/linking/linking";
import { assertUnreachable } from "../../../core/result";
import { encodeCallback } from "../../../core/messaging/callback-data";
import type { BotContext } from "../bot-context";
import { sharePhoneKeyboard, yesNo } from "./replies";

export const linkHandlers = new Composer<BotContext>();

/** A newly linked customer without a stored language gets the chat's, so offers and surveys use it. */
async function rememberLocale(ctx: BotContext, customerId: number): Promise<void> {
  await ctx.deps.db.prisma.customer.updateMany({
    where: { id: customerId, locale: null },
    data: { locale: ctx.locale },
  });
}

linkHandlers.command("start", async (ctx) => {
  const payload = ctx.match.trim();
  const chat = { chatId: BigInt(ctx.chat.id), userId: BigInt(ctx.from?.id ?? ctx.chat.id) };
  if (payload) {
    const result = await linkByToken(ctx.deps.db, payload, chat, { now: ctx.deps.now() });
    if (result.ok) {
      ctx.session.flow = undefined;
      await rememberLocale(ctx, result.value.customerId);
      await ctx.reply(ctx.tr(result.value.status === "linked" ? "link-ok" : "link-already"), {
        reply_markup: { remove_keyboard: true },
      });
      return;
    }
    switch (result.error.type) {
      case "used":
        return void (await ctx.reply(ctx.tr("link-used")));
      case "expired":
        return void (await ctx.reply(ctx.tr("link-expired")));
      case "unknown":
        return void (await ctx.reply(ctx.tr("link-unknown"), {
          reply_markup: ctx.customer ? undefined : sharePhoneKeyboard(ctx),
        }));
      default:
        return assertUnreachable(result.error);
    }
  }
  if (!ctx.customer) {
    await ctx.reply(ctx.tr("start-unlinked"), { reply_markup: sharePhoneKeyboard(ctx) });
    return;
  }
  if (!ctx.customer.marketingConsent) {
    ctx.session.flow = { type: "confirm_optin" };
    await ctx.reply(ctx.tr("optin-confirm"), {
      reply_markup: yesNo(
        ctx.tr("optin-btn-yes"),
        encodeCallback({ type: "optin", confirm: true }),
        ctx.tr("optin-btn-no"),
        encodeCallback({ type: "optin", confirm: false }),
      ),
    });
    return;
  }
  await ctx.reply(ctx.tr("start-welcome", { name: ctx.customer.name?.split(/\s+/)[0] ?? "" }));
});

linkHandlers.on("message:contact", async (ctx) => {
  const contact = ctx.message.contact;
  if (!ctx.from || contact.user_id !== ctx.from.id) {
    await ctx.reply(ctx.tr("phone-not-own"), { reply_markup: sharePhoneKeyboard(ctx) });
    return;
  }
  const result = await linkByPhone(
    ctx.deps.db,
    contact.phone_number,
    { chatId: BigInt(ctx.chat.id), userId: BigInt(ctx.from.id) },
    { now: ctx.deps.now() },
  );
  if (result.ok) {
    await rememberLocale(ctx, result.value.customerId);
    await ctx.reply(ctx.tr(result.value.status === "linked" ? "phone-linked" : "link-already"), {
      reply_markup: { remove_keyboard: true },
    });
  } else await ctx.reply(ctx.tr("phone-not-found"), { reply_markup: { remove_keyboard: true } });
});

linkHandlers.command("help", async (ctx) => {
  await ctx.reply(ctx.tr("help"));
});
