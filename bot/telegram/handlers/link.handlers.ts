// /start (with a deep-link token, or to opt back in), the shared contact, /help.
import { Composer } from "grammy";
import { findChatCustomer, rememberLocale } from "../../../core/conversation/chats";
import { awaitConfirmation } from "../../../core/conversation/conversation";
import { linkByPhone, linkByToken } from "../../../core/linking/linking";
import { assertUnreachable } from "../../../core/result";
import { encodeCallback } from "../../../core/messaging/callback-data";
import type { BotContext } from "../bot-context";
import { sharePhoneKeyboard, yesNo } from "./replies";

export const linkHandlers = new Composer<BotContext>();

/** Asks for consent to personal offers (Yes / No); the answer is recorded with its time and source. */
async function askConsent(ctx: BotContext): Promise<void> {
  ctx.session = awaitConfirmation(ctx.session, "confirm_optin", ctx.deps.now());
  await ctx.reply(ctx.tr("consent-ask"), {
    reply_markup: yesNo(
      ctx.tr("optin-btn-yes"),
      encodeCallback({ type: "optin", confirm: true }),
      ctx.tr("optin-btn-no"),
      encodeCallback({ type: "optin", confirm: false }),
    ),
  });
}

/** After a new link: remember the chat's language, and ask once for consent if there is none. */
async function afterLink(ctx: BotContext, customerId: number): Promise<void> {
  await rememberLocale(ctx.deps.db, customerId, ctx.locale);
  const customer = await findChatCustomer(ctx.deps.db, BigInt(ctx.chat!.id));
  if (customer && !customer.marketingConsent) await askConsent(ctx);
}

linkHandlers.command("start", async (ctx) => {
  const payload = ctx.match.trim();
  const chat = { chatId: BigInt(ctx.chat.id), userId: BigInt(ctx.from?.id ?? ctx.chat.id) };
  if (payload) {
    const result = await linkByToken(ctx.deps.db, payload, chat, { now: ctx.deps.now() });
    if (result.ok) {
      await ctx.reply(ctx.tr(result.value.status === "linked" ? "link-ok" : "link-already"), {
        reply_markup: { remove_keyboard: true },
      });
      if (result.value.status === "linked") await afterLink(ctx, result.value.customerId);
      return;
    }
    switch (result.error.type) {
      case "used":
        return void (await ctx.reply(ctx.tr("link-used"), {
          reply_markup: ctx.customer ? undefined : sharePhoneKeyboard(ctx),
        }));
      case "expired":
        return void (await ctx.reply(ctx.tr("link-expired"), {
          reply_markup: ctx.customer ? undefined : sharePhoneKeyboard(ctx),
        }));
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
    ctx.session = awaitConfirmation(ctx.session, "confirm_optin", ctx.deps.now());
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
    { now: ctx.deps.now(), defaultRegion: ctx.deps.config.linking.phoneRegion },
  );
  if (result.ok) {
    await ctx.reply(ctx.tr(result.value.status === "linked" ? "phone-linked" : "link-already"), {
      reply_markup: { remove_keyboard: true },
    });
    if (result.value.status === "linked") await afterLink(ctx, result.value.customerId);
  } else await ctx.reply(ctx.tr("phone-not-found"), { reply_markup: { remove_keyboard: true } });
});

linkHandlers.command("help", async (ctx) => {
  await ctx.reply(ctx.tr("help"));
});
