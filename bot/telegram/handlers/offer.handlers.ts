// The three offer buttons (use it, not interested, stop offers): one core call, then its notice,
// the buttons removed when core says so, and its replies.
import type { CallbackAction } from "../../../core/messaging/callback-data";
import { pressOfferButton } from "../../../core/offers/offer-buttons";
import type { BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, replyUnlinked, sendReplies } from "./replies";

export async function handleOfferCallback(
  ctx: BotContext,
  action: Extract<CallbackAction, { type: "offer" }>,
): Promise<void> {
  if (!ctx.customer) return replyUnlinked(ctx);
  const result = await pressOfferButton(ctx.deps.db, {
    customer: ctx.customer,
    button: action.action,
    issueId: action.issueId,
    locale: ctx.locale,
    now: ctx.deps.now(),
    actor: `telegram:${ctx.chat!.id}`,
  });
  await answerCallback(ctx, result.notice);
  if (result.removeButtons) await dropKeyboard(ctx);
  await sendReplies(ctx, result.replies);
}
