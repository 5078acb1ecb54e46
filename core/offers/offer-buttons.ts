// The three buttons under an offer, channel-neutral: "use it" shows the code, "not interested"
// declines, "stop offers" opts out. Each answer is confirmed once: a second press (a double tap,
// an old copy of the message) gets a short notice on the button and no new message, and the
// buttons go as soon as the offer is answered or has expired.
import { optOut } from "../consent/consent";
import type { ConversationCustomer } from "../conversation/conversation";
import { say, type Reply } from "../conversation/state";
import type { Database } from "../db/client";
import { formatDate } from "../messaging/render";
import { assertUnreachable } from "../result";
import { acceptOffer, checkOfferOwner, declineOffer, type OfferResponseError } from "./offer-responses";

export type OfferButton = "accept" | "decline" | "stop";

export interface OfferButtonResult {
  /** Locale key of a short notice shown on the button (already answered, expired...). */
  notice?: string;
  /** Remove the offer's buttons: it is answered or expired. */
  removeButtons: boolean;
  replies: Reply[];
}

/** The notice for an offer that cannot be answered, and whether its buttons should go. */
function refusal(error: OfferResponseError): OfferButtonResult {
  switch (error.type) {
    case "not_found":
      return { notice: "offer-unavailable", removeButtons: false, replies: [] };
    // Someone else's offer id in a forged button: the message it came with is not that offer.
    case "not_yours":
      return { notice: "offer-not-yours", removeButtons: false, replies: [] };
    case "expired":
      return { notice: "offer-expired", removeButtons: true, replies: [] };
    case "already_responded":
      return { notice: "offer-already", removeButtons: true, replies: [] };
    default:
      return assertUnreachable(error);
  }
}

/**
 * Handles one press of an offer button by a linked customer.
 * @param locale the customer's language, for the code's expiry date.
 * @throws when the database fails.
 */
export async function pressOfferButton(
  db: Database,
  input: {
    customer: ConversationCustomer;
    button: OfferButton;
    issueId: number;
    locale: string;
    now: Date;
    actor: string;
  },
): Promise<OfferButtonResult> {
  const { customer, issueId, now } = input;
  const ids = { issueId, customerId: customer.id, now };
  switch (input.button) {
    case "accept": {
      const result = await acceptOffer(db, ids);
      if (!result.ok) return refusal(result.error);
      if (result.value.repeated) return { notice: "offer-already", removeButtons: true, replies: [] };
      const date = formatDate(result.value.expiresAt, input.locale);
      return { removeButtons: true, replies: [say("offer-accepted", { code: result.value.code, date })] };
    }
    case "decline": {
      const result = await declineOffer(db, ids);
      if (!result.ok) return refusal(result.error);
      if (result.value.repeated) return { notice: "offer-already", removeButtons: true, replies: [] };
      return { removeButtons: true, replies: [say("offer-declined")] };
    }
    case "stop": {
      const owner = await checkOfferOwner(db, issueId, customer.id);
      if (!owner.ok) return refusal(owner.error);
      const result = await optOut(db, customer.id, { now, actor: input.actor, reason: "offer button" });
      if (result.ok && !result.value.changed) return { notice: "optout-already", removeButtons: true, replies: [] };
      return { removeButtons: true, replies: [say("optout-done")] };
    }
    default:
      return assertUnreachable(input.button);
  }
}
