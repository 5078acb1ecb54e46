// The buttons on at-risk rows and customer cards: send the best offer now, open the customer's
// ticket, assign the customer to me. Each checks the staff rule, runs one core action and
// answers the clicker alone (an ephemeral message); the core actions are idempotent, so a double
// click does the thing once.
import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { contactPolicyFromConfig, type SkipReason } from "../../core/campaigns/contact-policy";
import { assertUnreachable } from "../../core/result";
import {
  assignCustomerOwner,
  openTicketOf,
  sendBestOffer,
  type SendOfferRefusal,
} from "../../core/staff/customer-actions";
import type { SlackDeps } from "./deps";
import { STAFF_ONLY_TEXT } from "./staff-guard";

/** A contact-policy reason in words staff can act on. */
export function policyReasonText(reason: SkipReason): string {
  switch (reason) {
    case "no_customer":
      return "the customer no longer exists";
    case "erased":
      return "the customer's data was erased";
    case "unreachable":
      return "the customer blocked the Telegram bot";
    case "not_linked":
      return "the customer has no linked Telegram chat (`/retention link` makes a link to send them)";
    case "opted_out":
      return "the customer opted out of marketing";
    case "no_consent":
      return "the customer has not agreed to receive offers (no marketing consent)";
    case "offer_cap":
      return "the customer already got an offer recently (offer cap)";
    case "decline_cooldown":
      return 'the customer said "not interested" to an offer recently';
    case "survey_cap":
      return "the customer was surveyed recently";
    case "spacing":
      return "the customer got a marketing message very recently (spacing)";
    default:
      return assertUnreachable(reason);
  }
}

/** Why the offer was not sent, in one sentence. */
export function refusalText(e: SendOfferRefusal): string {
  switch (e.type) {
    case "policy":
      return `Not sent: ${policyReasonText(e.reason)}.`;
    case "control_group":
      return `Not sent: the customer is in the control group of campaign ${e.campaignId}; contacting them would spoil its measurement.`;
    case "no_offer":
      return "Not sent: the offer catalogue has no active offer.";
    case "not_found":
      return "Not sent: the customer no longer exists.";
    default:
      return assertUnreachable(e);
  }
}

function customerOf(body: BlockAction): number | null {
  const value = String((body.actions[0] as ButtonAction | undefined)?.value ?? "");
  const id = Number(value.replace(/^customer:/, ""));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export function registerCustomerActions(app: App, deps: SlackDeps): void {
  const tell = async (client: WebClient, body: BlockAction, text: string) => {
    const channel = body.channel?.id;
    if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text });
    else await client.chat.postMessage({ channel: body.user.id, text }); // from the Home tab: a direct message
  };
  /** The staff rule for a click; non-staff are told so and nothing happens. */
  const allowed = async (client: WebClient, body: BlockAction) => {
    const decision = await deps.guard.check(body.user.id, body.channel?.id);
    if (!decision.allowed) {
      deps.log.info({ user: body.user.id, action: body.actions[0]?.action_id }, "customer action refused: not staff");
      await tell(client, body, STAFF_ONLY_TEXT);
    }
    return decision.allowed;
  };

  app.action<BlockAction>("customer_send_offer", async ({ ack, body, client }) => {
    await ack();
    const customerId = customerOf(body);
    if (customerId === null || !(await allowed(client, body))) return;
    const result = await sendBestOffer(deps.db, customerId, {
      now: deps.now(),
      policy: contactPolicyFromConfig(deps.config),
      staffId: body.user.id,
    });
    deps.log.info(
      {
        customerId,
        user: body.user.id,
        outcome: result.ok ? (result.value.queued ? "queued" : "already") : result.error.type,
      },
      "best offer from Slack",
    );
    if (!result.ok) return tell(client, body, refusalText(result.error));
    const when =
      result.value.notBefore.getTime() > deps.now().getTime()
        ? ` It goes at ${result.value.notBefore.toISOString().slice(0, 16).replace("T", " ")} UTC, after the customer's quiet hours.`
        : " It goes out now.";
    await tell(
      client,
      body,
      result.value.queued
        ? `:white_check_mark: Queued the best offer (${result.value.offerTitle}).${when}`
        : `This customer's offer (${result.value.offerTitle}) is already queued today; nothing more was sent.`,
    );
  });

  app.action<BlockAction>("customer_assign", async ({ ack, body, client }) => {
    await ack();
    const customerId = customerOf(body);
    if (customerId === null || !(await allowed(client, body))) return;
    const result = await assignCustomerOwner(deps.db, customerId, body.user.id, deps.now());
    if (!result.ok) return tell(client, body, "That customer no longer exists (or was erased).");
    const previous = result.value.previous;
    await tell(
      client,
      body,
      previous === body.user.id
        ? "You already own this customer."
        : `You now own this customer${previous ? ` (taken over from <@${previous}>)` : ""}.`,
    );
  });

  app.action<BlockAction>("customer_open_ticket", async ({ ack, body, client }) => {
    await ack();
    const customerId = customerOf(body);
    if (customerId === null || !(await allowed(client, body))) return;
    const ticket = await openTicketOf(deps.db, customerId);
    if (!ticket) return tell(client, body, "This customer has no open ticket.");
    if (!ticket.slackChannel || !ticket.slackTs)
      return tell(client, body, `Ticket ${ticket.reference} is open but not posted to Slack yet.`);
    const link = await client.chat
      .getPermalink({ channel: ticket.slackChannel, message_ts: ticket.slackTs })
      .then((r) => r.permalink)
      .catch(() => undefined);
    await tell(
      client,
      body,
      link
        ? `Ticket ${ticket.reference}: <${link}|open the thread>`
        : `Ticket ${ticket.reference} is in <#${ticket.slackChannel}> (thread ${ticket.slackTs}).`,
    );
  });
}
