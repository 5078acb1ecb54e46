// /start (with a deep-link token, or to opt back in), the shared contact, /help, and the linked
// chat's answer when a link is opened from another chat.
import { Composer } from "grammy";
import { findChatCustomer, rememberLocale } from "../../../core/conversation/chats";
import { awaitConfirmation } from "../../../core/conversation/conversation";
import { confirmLinkMove, linkByPhone, linkByToken, type MoveRequested } from "../../../core/linking/linking";
import { sendNow } from "../../../core/messaging/outbox";
import { assertUnreachable } from "../../../core/result";
import { encodeCallback, type CallbackAction } from "../../../core/messaging/callback-data";
import type { BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, sharePhoneKeyboard, yesNo } from "./replies";

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

/** After a new link (the chat's language already remembered): ask once for consent if there is none. */
async function askConsentIfNone(ctx: BotContext): Promise<void> {
  const customer = await findChatCustomer(ctx.deps.db, BigInt(ctx.chat!.id));
  if (customer && !customer.marketingConsent) await askConsent(ctx);
}

/**
 * A message to a chat other than the update's, through the outbox (one delivery path: kept,
 * retried and sent once under its key), in the customer's language.
 */
async function sendThroughOutbox(
  ctx: BotContext,
  row: { idempotencyKey: string; customerId: number; kind: "link_move" | "notice"; payload: Record<string, unknown> },
): Promise<void> {
  const channel = ctx.deps.channel;
  if (!channel) throw new Error("the bot's channel is not built");
  const outcome = await sendNow(ctx.deps.db, channel, row, {
    now: ctx.deps.now(),
    defaultLocale: ctx.deps.config.business.locale,
    log: ctx.deps.log,
  });
  // Not delivered now: the dispatcher retries it; the request itself stays open either way.
  if (outcome !== "sent" && outcome !== "duplicate")
    ctx.deps.log.warn({ kind: row.kind, outcome }, "link message not delivered yet");
}

/** Asks the chat the account is linked to whether to move it to this one (through the outbox). */
async function askCurrentChat(ctx: BotContext, token: string, move: MoveRequested): Promise<void> {
  await sendThroughOutbox(ctx, {
    idempotencyKey: `link-move:${token}:${ctx.chat!.id}:ask`,
    customerId: move.customerId,
    kind: "link_move",
    payload: { token },
  });
}

linkHandlers.command("start", async (ctx) => {
  const payload = ctx.match.trim();
  const chat = { chatId: BigInt(ctx.chat.id), userId: BigInt(ctx.from?.id ?? ctx.chat.id) };
  if (payload) {
    const result = await linkByToken(ctx.deps.db, payload, chat, { now: ctx.deps.now() });
    if (result.ok && result.value.status === "move_requested") {
      if (result.value.asked) await askCurrentChat(ctx, payload, result.value);
      await ctx.reply(ctx.tr("link-move-asked"), { reply_markup: { remove_keyboard: true } });
      return;
    }
    if (result.ok) {
      const linked = result.value.status === "linked";
      // Written before "done" is said, so whatever the customer does next sees it.
      if (linked) await rememberLocale(ctx.deps.db, result.value.customerId, ctx.locale);
      await ctx.reply(ctx.tr(linked ? "link-ok" : "link-already"), { reply_markup: { remove_keyboard: true } });
      if (linked) await askConsentIfNone(ctx);
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
    const linked = result.value.status === "linked";
    if (linked) await rememberLocale(ctx.deps.db, result.value.customerId, ctx.locale);
    await ctx.reply(ctx.tr(linked ? "phone-linked" : "link-already"), { reply_markup: { remove_keyboard: true } });
    if (linked) await askConsentIfNone(ctx);
  } else await ctx.reply(ctx.tr("phone-not-found"), { reply_markup: { remove_keyboard: true } });
});

linkHandlers.command("help", async (ctx) => {
  await ctx.reply(ctx.tr("help"));
});

/** The linked chat answers a move request: this chat is told, and so is the one that asked. */
export async function handleLinkMoveCallback(
  ctx: BotContext,
  action: Extract<CallbackAction, { type: "link_move" }>,
): Promise<void> {
  const result = await confirmLinkMove(ctx.deps.db, action.token, BigInt(ctx.chat!.id), {
    now: ctx.deps.now(),
    confirm: action.confirm,
  });
  if (!result.ok) return answerCallback(ctx, "callback-stale");
  await answerCallback(ctx);
  await dropKeyboard(ctx);
  const moved = result.value.status === "moved";
  await ctx.reply(ctx.tr(moved ? "link-move-done" : "link-move-kept"));
  // The chat that asked is told through the outbox: it is the customer's chat now, or (refused)
  // a chat that is no one's, reached by its id.
  await sendThroughOutbox(ctx, {
    idempotencyKey: `link-move:${action.token}:${result.value.newChatId}:answer`,
    customerId: result.value.customerId,
    kind: "notice",
    payload: moved
      ? { key: "link-ok", removeKeyboard: true }
      : { key: "link-move-refused", requestPhone: true, toChat: String(result.value.newChatId) },
  });
}
