// The three offer buttons: use it, not interested, stop offers.
import { optOut } from "../../../core/consent/consent";
import type { CallbackAction } from "../../../core/messaging/callback-data";
import { formatDate } from "../../../core/messaging/render";
import {
  acceptOffer,
  checkOfferOwner,
  declineOffer,
  type OfferResponseError,
} from "../../../core/offers/offer-responses";
import { assertUnreachable } from "../../../core/result";
import type { BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, replyUnlinked } from "./replies";

function errorKey(error: OfferResponseError): string {
  switch (error.type) {
    case "not_found":
      return "offer-unavailable";
    case "not_yours":
      return "offer-not-yours";
    case "expired":
      return "offer-expired";
    case "already_responded":
      return "offer-already";
    default:
      return assertUnreachable(error);
  }
}

export async function handleOfferCallback(
  ctx: BotContext,
  action: Extract<CallbackAction, { type: "offer" }>,
): Promise<void> {
  if (!ctx.customer) return replyUnlinked(ctx);
  const input = { issueId: action.issueId, customerId: ctx.customer.id, now: ctx.deps.now() };
  switch (action.action) {
    case "accept": {
      const result = await acceptOffer(ctx.deps.db, input);
      if (!result.ok) return answerCallback(ctx, errorKey(result.error));
      await answerCallback(ctx);
      await ctx.reply(
        ctx.tr("offer-accepted", { code: result.value.code, date: formatDate(result.value.expiresAt, ctx.locale) }),
      );
      return;
    }
    case "decline": {
      const result = await declineOffer(ctx.deps.db, input);
      if (!result.ok) return answerCallback(ctx, errorKey(result.error));
      await answerCallback(ctx);
      await dropKeyboard(ctx);
      await ctx.reply(ctx.tr("offer-declined"));
      return;
    }
    case "stop": {
      const owner = await checkOfferOwner(ctx.deps.db, action.issueId, ctx.customer.id);
      if (!owner.ok) return answerCallback(ctx, errorKey(owner.error));
      await optOut(ctx.deps.db, ctx.customer.id, {
        now: input.now,
        actor: `telegram:${ctx.chat!.id}`,
        reason: "offer button",
      });
      await answerCallback(ctx);
      await dropKeyboard(ctx);
      await ctx.reply(ctx.tr("optout-done"));
      return;
    }
    default:
      return assertUnreachable(action.action);
  }
}
