// The customer actions on at-risk rows (each row's ⋯ menu) and customer cards (buttons): send the
// best offer now, add to a campaign (a modal to choose it), assign the customer to me, open the
// customer's ticket; and the at-risk list's paging. Each checks the staff rule, runs one core
// action and answers the clicker alone (an ephemeral message, or a direct message from the Home
// tab); the core actions are idempotent, so a double click does the thing once.
import type { App, BlockAction, ButtonAction, OverflowAction, ViewSubmitAction } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { contactPolicyFromConfig, type SkipReason } from "../../core/campaigns/contact-policy";
import { assertUnreachable } from "../../core/result";
import { listAtRisk } from "../../core/staff/at-risk";
import {
  addToCampaign,
  assignCustomerOwner,
  joinableCampaigns,
  openTicketOf,
  sendBestOffer,
  type CampaignJoin,
  type JoinRefusal,
  type SendOfferRefusal,
} from "../../core/staff/customer-actions";
import {
  AT_RISK_PAGE,
  AT_RISK_PAGE_SIZE,
  atRiskBlocks,
  CUSTOMER_ACTIONS,
  CUSTOMER_ROW_MENU,
  esc,
  type AtRiskPage,
  type CustomerActionId,
} from "./blocks";
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

/** Why the customer did not join the campaign, in one sentence. */
export function joinRefusalText(e: JoinRefusal): string {
  switch (e.type) {
    case "policy":
      return `Not added: ${policyReasonText(e.reason)}.`;
    case "no_positive_offer":
      return "Not added: none of the campaign's offers is worth its cost for this customer (expected value not above zero).";
    case "over_budget":
      return "Not added: the campaign's budget is spent.";
    case "not_scored":
      return "Not added: the customer has no score in the newest scoring run (`retention score` scores them).";
    case "no_scores":
      return "Not added: nothing has been scored yet; run `retention score` first.";
    case "campaign_not_found":
      return "Not added: that campaign no longer exists.";
    case "campaign_closed":
      return `Not added: the campaign is ${e.status}.`;
    case "not_found":
      return "Not added: the customer no longer exists (or was erased).";
    default:
      return assertUnreachable(e);
  }
}

/** What joining (or having joined) a campaign means, for the staff member who asked. */
export function joinText(j: CampaignJoin, now: Date): string {
  const name = `campaign ${j.campaignId} (${esc(j.campaignName)})`;
  if (j.group === "control")
    return j.added
      ? `Added to ${name}, and the random draw put the customer in the *control group*: they get nothing from this campaign, so it can measure what the offer changes. Nothing was sent.`
      : `Already in ${name}, in the control group: nothing is sent to them. Nothing changed.`;
  const offer = j.offer?.title ? ` (${esc(j.offer.title)})` : "";
  const when =
    j.offer?.notBefore && j.offer.notBefore.getTime() > now.getTime()
      ? ` It goes at ${j.offer.notBefore.toISOString().slice(0, 16).replace("T", " ")} UTC, after the customer's quiet hours.`
      : "";
  return j.added
    ? `:white_check_mark: Added to ${name} in the treatment group: the campaign's offer${offer} is queued.${when}`
    : `Already in ${name}, in the treatment group${offer}. Nothing more was sent.`;
}

/** The customer id in a button's `customer:<id>` or a menu option's `<action>|<id>`. */
function customerIdOf(value: string): number | null {
  const id = Number(value.replace(/^customer:/, "").replace(/^[a-z_]+\|/, ""));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export const ADD_TO_CAMPAIGN_MODAL = "customer_add_campaign_modal";

export function registerCustomerActions(app: App, deps: SlackDeps): void {
  /** Tells the clicker alone: ephemeral in the channel, or a direct message (Home tab, modals without one). */
  const tell = async (client: WebClient, where: { user: string; channel?: string }, text: string) => {
    if (where.channel) await client.chat.postEphemeral({ channel: where.channel, user: where.user, text });
    else await client.chat.postMessage({ channel: where.user, text });
  };
  /** The staff rule for a click; non-staff are told so and nothing happens. */
  const allowed = async (client: WebClient, where: { user: string; channel?: string }, action: string) => {
    const decision = await deps.guard.check(where.user, where.channel);
    if (!decision.allowed) {
      deps.log.info({ user: where.user, action }, "customer action refused: not staff");
      await tell(client, where, STAFF_ONLY_TEXT);
    }
    return decision.allowed;
  };

  const sendOffer = async (client: WebClient, where: { user: string; channel?: string }, customerId: number) => {
    const result = await sendBestOffer(deps.db, customerId, {
      now: deps.now(),
      policy: contactPolicyFromConfig(deps.config),
      staffId: where.user,
    });
    deps.log.info(
      {
        customerId,
        user: where.user,
        outcome: result.ok ? (result.value.queued ? "queued" : "already") : result.error.type,
      },
      "best offer from Slack",
    );
    if (!result.ok) return tell(client, where, refusalText(result.error));
    const when =
      result.value.notBefore.getTime() > deps.now().getTime()
        ? ` It goes at ${result.value.notBefore.toISOString().slice(0, 16).replace("T", " ")} UTC, after the customer's quiet hours.`
        : " It goes out now.";
    await tell(
      client,
      where,
      result.value.queued
        ? `:white_check_mark: Queued the best offer (${esc(result.value.offerTitle)}).${when}`
        : `This customer's offer (${esc(result.value.offerTitle)}) is already queued today; nothing more was sent.`,
    );
  };

  const assign = async (client: WebClient, where: { user: string; channel?: string }, customerId: number) => {
    const result = await assignCustomerOwner(deps.db, customerId, where.user, deps.now());
    if (!result.ok) return tell(client, where, "That customer no longer exists (or was erased).");
    const previous = result.value.previous;
    await tell(
      client,
      where,
      previous === where.user
        ? "You already own this customer."
        : `You now own this customer${previous ? ` (taken over from <@${previous}>)` : ""}.`,
    );
  };

  const openTicket = async (client: WebClient, where: { user: string; channel?: string }, customerId: number) => {
    const ticket = await openTicketOf(deps.db, customerId);
    if (!ticket) return tell(client, where, "This customer has no open ticket.");
    if (!ticket.slackChannel || !ticket.slackTs)
      return tell(client, where, `Ticket ${ticket.reference} is open but not posted to Slack yet.`);
    const link = await client.chat
      .getPermalink({ channel: ticket.slackChannel, message_ts: ticket.slackTs })
      .then((r) => r.permalink)
      .catch(() => undefined);
    await tell(
      client,
      where,
      link
        ? `Ticket ${ticket.reference}: <${link}|open the thread>`
        : `Ticket ${ticket.reference} is in <#${ticket.slackChannel}> (thread ${ticket.slackTs}).`,
    );
  };

  /** Opens the modal to choose the campaign; the submission joins it (`ADD_TO_CAMPAIGN_MODAL`). */
  const chooseCampaign = async (
    client: WebClient,
    where: { user: string; channel?: string },
    customerId: number,
    triggerId: string,
  ) => {
    const campaigns = await joinableCampaigns(deps.db);
    if (!campaigns.length)
      return tell(
        client,
        where,
        "There is no active or draft campaign to add the customer to (`retention campaign create`).",
      );
    await client.views.open({
      trigger_id: triggerId,
      view: {
        type: "modal",
        callback_id: ADD_TO_CAMPAIGN_MODAL,
        private_metadata: JSON.stringify({ customerId, channel: where.channel ?? null }),
        title: { type: "plain_text", text: "Add to campaign" },
        submit: { type: "plain_text", text: "Add" },
        blocks: [
          {
            type: "input",
            block_id: "campaign",
            label: { type: "plain_text", text: "Campaign" },
            element: {
              type: "static_select",
              action_id: "id",
              options: campaigns.map((c) => ({
                text: {
                  type: "plain_text",
                  text: `${c.id} · ${c.name}${c.status === "draft" ? " (draft)" : ""}`.slice(0, 75),
                },
                value: String(c.id),
              })),
            },
          },
          {
            type: "context",
            elements: [
              {
                type: "mrkdwn",
                text: "The campaign's rules decide: consent and the contact policy first, then the random draw, so the customer may land in the control group and get nothing.",
              },
            ],
          },
        ],
      },
    });
  };

  const run = async (
    action: CustomerActionId,
    client: WebClient,
    body: BlockAction,
    customerId: number,
  ): Promise<void> => {
    const where = { user: body.user.id, channel: body.channel?.id };
    if (!(await allowed(client, where, action))) return;
    switch (action) {
      case "customer_send_offer":
        return sendOffer(client, where, customerId);
      case "customer_add_campaign":
        return chooseCampaign(client, where, customerId, body.trigger_id);
      case "customer_assign":
        return assign(client, where, customerId);
      case "customer_open_ticket":
        return openTicket(client, where, customerId);
      default:
        return assertUnreachable(action);
    }
  };

  for (const [action] of CUSTOMER_ACTIONS)
    app.action<BlockAction>(action, async ({ ack, body, client }) => {
      await ack();
      const customerId = customerIdOf(String((body.actions[0] as ButtonAction | undefined)?.value ?? ""));
      if (customerId !== null) await run(action, client, body, customerId);
    });

  app.action<BlockAction>(CUSTOMER_ROW_MENU, async ({ ack, body, client }) => {
    await ack();
    const value = (body.actions[0] as OverflowAction | undefined)?.selected_option.value ?? "";
    const action = CUSTOMER_ACTIONS.find(([id]) => value.startsWith(`${id}|`))?.[0];
    const customerId = customerIdOf(value);
    if (action && customerId !== null) await run(action, client, body, customerId);
  });

  app.view<ViewSubmitAction>(ADD_TO_CAMPAIGN_MODAL, async ({ ack, body, view, client }) => {
    await ack();
    const meta = JSON.parse(view.private_metadata || "{}") as { customerId?: unknown; channel?: unknown };
    const customerId = Number(meta.customerId);
    const campaignId = Number(view.state.values.campaign?.id?.selected_option?.value);
    const where = { user: body.user.id, channel: typeof meta.channel === "string" ? meta.channel : undefined };
    if (!Number.isSafeInteger(customerId) || !Number.isSafeInteger(campaignId)) return;
    if (!(await allowed(client, where, ADD_TO_CAMPAIGN_MODAL))) return;
    const result = await addToCampaign(deps.db, customerId, campaignId, {
      now: deps.now(),
      policy: contactPolicyFromConfig(deps.config),
      staffId: body.user.id,
    });
    deps.log.info(
      {
        customerId,
        campaignId,
        user: body.user.id,
        outcome: result.ok ? `${result.value.added ? "added" : "already"}:${result.value.group}` : result.error.type,
      },
      "add to campaign from Slack",
    );
    await tell(client, where, result.ok ? joinText(result.value, deps.now()) : joinRefusalText(result.error));
  });

  // Paging through the at-risk list replaces the (ephemeral) list in place.
  app.action<BlockAction>(new RegExp(`^${AT_RISK_PAGE}:`), async ({ ack, body, client, respond }) => {
    await ack();
    const where = { user: body.user.id, channel: body.channel?.id };
    if (!(await allowed(client, where, AT_RISK_PAGE))) return;
    let page: AtRiskPage;
    try {
      const raw = JSON.parse(String((body.actions[0] as ButtonAction | undefined)?.value ?? "")) as AtRiskPage;
      page = {
        segment: typeof raw.segment === "string" ? raw.segment : undefined,
        minRisk: Number(raw.minRisk),
        orderBy: raw.orderBy === "clv" ? "clv" : "risk",
        offset: Math.max(0, Math.trunc(Number(raw.offset))),
        pageSize: Math.min(AT_RISK_PAGE_SIZE, Math.max(1, Math.trunc(Number(raw.pageSize)))),
      };
      if (![page.minRisk, page.offset, page.pageSize].every(Number.isFinite)) return;
    } catch {
      return;
    }
    const list = await listAtRisk(deps.db, {
      segment: page.segment,
      minRisk: page.minRisk,
      orderBy: page.orderBy,
      locale: deps.config.business.locale,
      limit: page.pageSize,
      offset: page.offset,
    });
    await respond({
      replace_original: true,
      response_type: "ephemeral",
      text: `${list.total} customers at risk (rows ${page.offset + 1}-${page.offset + list.rows.length})`,
      blocks: atRiskBlocks(list, page, deps.config.business.currency),
    });
  });
}
