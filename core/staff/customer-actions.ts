// What staff can do from a customer row or card in one click: send the customer's best offer now
// (through the contact policy and the outbox, as a campaign would), take the customer on as
// owner, and find the customer's open ticket. Every action is idempotent: a double click does it
// once.
import { Prisma, type Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { offerCodeSql } from "../offers/offer-code";
import { issuedOfferPayloadSql } from "../offers/offer-payload";
import { assertUnreachable, err, ok, type Result } from "../result";
import { planCampaign } from "../campaigns/plan";
import {
  contactRefusalSql,
  effectiveTimeZone,
  lockMarketingQueue,
  nextSendableAt,
  SKIP_REASONS,
  type ContactPolicy,
  type SkipReason,
} from "../campaigns/contact-policy";

/** Why the best offer was not sent: a contact-policy reason, or one of the campaign rules here. */
export type SendOfferRefusal =
  | { type: "policy"; reason: SkipReason }
  /** In the control group of a running campaign: contacting them would spoil the measurement. */
  | { type: "control_group"; campaignId: number; campaignName: string }
  | { type: "no_offer" }
  | { type: "not_found" };

export interface QueuedOffer {
  /** False when this click found the offer already queued (a double click, or another colleague). */
  queued: boolean;
  offerTitle: string;
  notBefore: Date;
  outboxKey: string;
}

/**
 * Plans a one-customer send of their best offer: refused when the customer is in a running
 * campaign's control group or the contact policy (`contactRefusalSql`: consent, caps, spacing,
 * reachability) says no; otherwise the offer with the highest expected value for this customer
 * (churn x save probability x CLV - cost, from the newest scores) is issued with a fresh code and
 * queued in the outbox (`staff:customer:<id>:offer:<day>`), to go after quiet hours in the
 * customer's zone. Under the marketing queue lock, like every planner.
 */
export async function sendBestOffer(
  db: Database,
  customerId: number,
  options: { now: Date; policy: ContactPolicy; staffId: string },
): Promise<Result<QueuedOffer, SendOfferRefusal>> {
  const { now, policy } = options;
  const outboxKey = `staff:customer:${customerId}:offer:${now.toISOString().slice(0, 10)}`;
  return db.prisma.$transaction(
    async (tx) => {
      await lockMarketingQueue(tx);
      const already = await tx.outboxMessage.findUnique({
        where: { idempotencyKey: outboxKey },
        select: { notBefore: true, payload: true },
      });
      if (already)
        return ok({
          queued: false,
          offerTitle: String((already.payload as { title?: unknown }).title ?? "offer"),
          notBefore: already.notBefore,
          outboxKey,
        });
      const [customer] = await tx.$queryRaw<{ time_zone: string | null; reason: SkipReason | null }[]>`
        SELECT c.time_zone, ${contactRefusalSql(policy, now, { customer: "c", kind: "offer" })} AS reason
        FROM customers c WHERE c.id = ${customerId}`;
      if (!customer) return err({ type: "not_found" } as const);
      const [control] = await tx.$queryRaw<{ id: number; name: string }[]>`
        SELECT k.id, k.name FROM campaign_assignments a JOIN campaigns k ON k.id = a.campaign_id
        WHERE a.customer_id = ${customerId} AND a."group" = 'control' AND k.status <> 'finished'
        ORDER BY k.id DESC LIMIT 1`;
      if (control) return err({ type: "control_group", campaignId: control.id, campaignName: control.name } as const);
      if (customer.reason) return err({ type: "policy", reason: customer.reason } as const);
      const notBefore = nextSendableAt(now, effectiveTimeZone(customer.time_zone, policy.businessTimeZone), policy);
      const [queued] = await tx.$queryRaw<{ title: string }[]>`
        WITH score AS (
          SELECT s.churn_probability, s.clv FROM scores s
          WHERE s.customer_id = ${customerId}
            AND s.run_id = (SELECT id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1)
        ), best AS (
          SELECT o.* FROM offers o LEFT JOIN score ON true
          WHERE o.active
          ORDER BY coalesce(score.churn_probability, 0.5) * o.save_probability * coalesce(score.clv, 0) - o.cost::float8 DESC, o.id
          LIMIT 1
        ), issued AS (
          INSERT INTO offer_issues (code, customer_id, offer_id, campaign_id, status, issued_at, expires_at)
          SELECT ${offerCodeSql(Prisma.sql`${outboxKey}`)}, ${customerId}, best.id, NULL, 'issued', ${sqlTimestamp(now)},
                 ${sqlTimestamp(now)} + make_interval(days => best.valid_days)
          FROM best
          RETURNING id, offer_id, code, expires_at
        ), queued AS (
          INSERT INTO outbox_messages (idempotency_key, customer_id, campaign_id, kind, channel, payload, status, not_before, created_at)
          SELECT ${outboxKey}, ${customerId}, NULL, 'offer', 'telegram',
                 ${issuedOfferPayloadSql("i", "o")} || jsonb_build_object('sentBy', ${options.staffId}::text),
                 'pending', ${sqlTimestamp(notBefore)}, ${sqlTimestamp(now)}
          FROM issued i JOIN offers o ON o.id = i.offer_id
          RETURNING payload->>'title' AS title
        )
        SELECT title FROM queued`;
      if (!queued) return err({ type: "no_offer" } as const);
      await tx.auditLog.create({
        data: {
          actor: `slack:${options.staffId}`,
          action: "offer.sent_by_staff",
          entityType: "customer",
          entityId: String(customerId),
          details: { outboxKey },
          createdAt: now,
        },
      });
      return ok({ queued: true, offerTitle: queued.title, notBefore, outboxKey });
    },
    { timeout: 30_000, maxWait: 30_000 },
  );
}

/**
 * Makes `staffId` the customer's owner. Idempotent; taking over from a colleague is allowed and
 * says whose customer it was.
 * @returns the previous owner (null if none), or not_found.
 */
export async function assignCustomerOwner(
  db: Database,
  customerId: number,
  staffId: string,
  now: Date,
): Promise<Result<{ previous: string | null }, { type: "not_found" }>> {
  const before = await db.prisma.customer.findFirst({
    where: { id: customerId, erasedAt: null },
    select: { ownerSlackId: true },
  });
  if (!before) return err({ type: "not_found" });
  // The owner and its audit row are written together or not at all.
  if (before.ownerSlackId !== staffId)
    await db.prisma.$transaction([
      db.prisma.customer.update({ where: { id: customerId }, data: { ownerSlackId: staffId } }),
      db.prisma.auditLog.create({
        data: {
          actor: `slack:${staffId}`,
          action: "customer.owner_assigned",
          entityType: "customer",
          entityId: String(customerId),
          details: { previous: before.ownerSlackId },
          createdAt: now,
        },
      }),
    ]);
  return ok({ previous: before.ownerSlackId });
}

/** The customer's newest unresolved ticket with its Slack post, if any. */
export async function openTicketOf(
  db: Database,
  customerId: number,
): Promise<{ id: number; reference: string; slackChannel: string | null; slackTs: string | null } | null> {
  return db.prisma.ticket.findFirst({
    where: { customerId, status: { in: ["open", "pending"] } },
    orderBy: { createdAt: "desc" },
    select: { id: true, reference: true, slackChannel: true, slackTs: true },
  });
}

/** A campaign staff may add a customer to: active, or a draft waiting for its first plan. */
export interface JoinableCampaign {
  id: number;
  name: string;
  status: string;
}

/** Campaigns a customer can be added to, newest first (at most `limit`; Slack lists 100 options). */
export async function joinableCampaigns(db: Database, limit = 100): Promise<JoinableCampaign[]> {
  return db.prisma.campaign.findMany({
    where: { status: { in: ["active", "draft"] } },
    orderBy: { id: "desc" },
    take: limit,
    select: { id: true, name: true, status: true },
  });
}

/** Why a customer did not join: a contact-policy reason, a planner's reason, or a missing piece. */
export type JoinRefusal =
  | { type: "policy"; reason: SkipReason }
  /** No offer of the campaign has a positive expected value for this customer. */
  | { type: "no_positive_offer" }
  | { type: "over_budget" }
  | { type: "not_scored" }
  | { type: "no_scores" }
  | { type: "campaign_not_found" }
  | { type: "campaign_closed"; status: string }
  | { type: "not_found" };

export interface CampaignJoin {
  campaignId: number;
  campaignName: string;
  group: "treatment" | "control";
  /** False when the customer was in the campaign already (a second click, or the campaign's own plan). */
  added: boolean;
  /** The offer queued for a treated customer, and when it goes. */
  offer: { title: string; notBefore: Date | null } | null;
}

/**
 * Adds one customer to a campaign through the campaign planner (`planCampaign` with `only`), so
 * the contact policy, the seeded treatment/control split, the offer choice, the expected-value
 * floor and the budget are the planner's own; only the targeting is the staff member's choice.
 * The customer may land in the control group. Idempotent: a second call reports the group the
 * customer is already in. The assignment and its audit row (`campaign.customer_added`) are
 * written together.
 */
export async function addToCampaign(
  db: Database,
  customerId: number,
  campaignId: number,
  options: { now: Date; policy: ContactPolicy; staffId: string },
): Promise<Result<CampaignJoin, JoinRefusal>> {
  const customer = await db.prisma.customer.findFirst({
    where: { id: customerId, erasedAt: null },
    select: { id: true },
  });
  if (!customer) return err({ type: "not_found" });
  const campaign = await db.prisma.campaign.findUnique({
    where: { id: campaignId },
    select: { name: true, status: true },
  });
  if (!campaign) return err({ type: "campaign_not_found" });
  const existing = () =>
    db.prisma.campaignAssignment.findUnique({
      where: { campaignId_customerId: { campaignId, customerId } },
      select: { group: true, offer: { select: { title: true } } },
    });
  const joined = async (added: boolean): Promise<Result<CampaignJoin, JoinRefusal> | null> => {
    const row = await existing();
    if (!row || (row.group !== "treatment" && row.group !== "control")) return null;
    const queued =
      row.group === "treatment"
        ? await db.prisma.outboxMessage.findFirst({
            where: { campaignId, customerId, kind: "offer" },
            select: { notBefore: true, payload: true },
          })
        : null;
    const title = String((queued?.payload as { title?: unknown } | undefined)?.title ?? row.offer?.title ?? "offer");
    return ok({
      campaignId,
      campaignName: campaign.name,
      group: row.group,
      added,
      offer: row.group === "treatment" ? { title, notBefore: queued?.notBefore ?? null } : null,
    });
  };
  const before = await joined(false);
  if (before) return before;
  if (campaign.status !== "active" && campaign.status !== "draft")
    return err({ type: "campaign_closed", status: campaign.status });

  const planned = await planCampaign(db, campaignId, {
    now: options.now,
    policy: options.policy,
    only: { customerId, actor: `slack:${options.staffId}` },
  });
  if (!planned.ok) {
    const e = planned.error;
    switch (e.type) {
      case "no_scores":
        return err({ type: "no_scores" });
      case "finished":
        return err({ type: "campaign_closed", status: "finished" });
      case "not_found":
        return err({ type: "campaign_not_found" });
      case "invalid":
      case "unknown_offers":
        throw new Error(`campaign ${campaignId} cannot be planned: ${JSON.stringify(e)}`);
      default:
        return assertUnreachable(e);
    }
  }
  const [reason] = Object.keys(planned.value.excluded);
  if (reason === "no_positive_offer" || reason === "over_budget") return err({ type: reason });
  const policyReason = SKIP_REASONS.find((r) => r === reason);
  if (policyReason) return err({ type: "policy", reason: policyReason });
  if (reason) throw new Error(`planner left the customer out for an unknown reason: ${reason}`);
  // Nobody new: either a colleague's click (or the campaign's plan) got there first, or no score.
  return (await joined(planned.value.treatment + planned.value.control > 0)) ?? err({ type: "not_scored" });
}
