// Planning a campaign, set-based so that a million customers take seconds, not hours:
//  1. eligible customers from the current scores (newest finished score run) and the targeting;
//  2. the contact policy at plan time (`contactRefusalSql`: consent, reachability, linked chat,
//     caps and spacing counting every queued marketing message, decline cooldown):
//     those who fail it stay outside the experiment, counted by reason in the summary but not
//     stored, so a customer who becomes eligible later (links the chat, budget raised, new
//     scores) can join on a re-plan;
//  3. treatment or control from a seeded hash of (seed, customer id), decided before any policy
//     ranking, so the split is random, reproducible and never changes on re-planning; and the
//     exploring share (`exploreShare`) from a second seeded hash;
//  4. each customer's offer and expected incremental value EV = uplift x CLV - cost. Before any
//     campaign has finished, uplift = churn probability x the offer's hand-typed save
//     probability and the offer is the EV-best one. Once the uplift model (uplift-model.ts)
//     exists, uplift is its estimate for the customer's segment x risk band, blended with its
//     per-customer learner's estimate by the learner's weight (uplift-learner.ts: 0 when the
//     learner did not rank held-out campaign data better than random, n / (n + k) otherwise),
//     and the offer is chosen by Thompson sampling per segment x offer (one draw per plan,
//     uplift-thompson.ts), the hand-typed save probability over the segment's control rate as
//     the prior. Exploring customers get an offer drawn by hash instead. A campaign ranked by
//     risk (`targeting.rankBy = "risk"`) ignores what was learned: hand-typed offers, ranked by
//     churn probability, negative EV included;
//  5. the budget, greedily: the policy takes customers in descending EV (or risk) order until the treated
//     ones' offer cost would exceed (1 - exploreShare) of the budget, the exploring ones in hash
//     order up to exploreShare of it. Control customers go through the same ranking without
//     being sent anything, so treatment and control are cut at the same point and the reported
//     lift compares like with like;
//  6. assignments are written before anything is sent, then offer issues with unique codes,
//     then outbox rows (`campaign:<id>:customer:<id>:offer`) that wait for quiet hours to end.
// Re-planning adds only customers not yet assigned; nobody is ever reassigned.
// `only` plans one customer a staff member chose (Slack's "Add to campaign"): the targeting is
// theirs, everything else (contact policy, the seeded split, the offer, EV and budget) is the
// same code, and the campaign's own schedule fields stay as they were.
import { createHash } from "node:crypto";
import { Prisma, type Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { offerCodeSql } from "../offers/offer-code";
import { issuedOfferPayloadSql } from "../offers/offer-payload";
import { err, ok, type Result } from "../result";
import { getCampaign, type CampaignError, type Targeting } from "./campaign";
import {
  contactRefusalSql,
  effectiveTimeZone,
  lockMarketingQueue,
  nextSendableAt,
  type ContactPolicy,
} from "./contact-policy";
import { blendedUplifts } from "./uplift-learner";
import { activeUpliftModel, cellUplift } from "./uplift-model";
import { drawOfferRates } from "./uplift-thompson";

export interface PlanSummary {
  campaignId: number;
  scoreRunId: number | null;
  /** Newly assigned in this run, by group. */
  treatment: number;
  control: number;
  /** Targeted customers left out of the experiment in this run, by reason (not stored). */
  excluded: Record<string, number>;
  offersIssued: number;
  messagesQueued: number;
  /** The uplift model the policy used, or null for the hand-typed save probabilities. */
  upliftModelId: number | null;
  /** Newly treated customers chosen by the exploring share. */
  explored: number;
  /** Offer cost committed by all treated customers of the campaign so far. */
  committedCost: number;
  durationMs: number;
  /** Milliseconds per step: select, assign, issue (offer issues + outbox). */
  timings: Record<string, number>;
}

export type PlanError = CampaignError | { type: "no_scores" } | { type: "finished"; campaignId: number };

/**
 * The share in [0, 1) a customer's seeded hash falls at; below `controlShare` means control.
 * The same formula runs in SQL (`md5`, first 32 bits), so tests and audits can recompute it.
 */
export function assignmentHash(seed: string, customerId: number): number {
  const hex = createHash("md5").update(`${seed}:${customerId}`).digest("hex");
  return parseInt(hex.slice(0, 8), 16) / 4294967296;
}

const hashSql = (seed: string, customerIdColumn: Prisma.Sql) =>
  Prisma.sql`(('x' || substr(md5(${seed} || ':' || ${customerIdColumn}::text), 1, 8))::bit(32)::bigint / 4294967296.0)`;

/**
 * Plans (or re-plans) a campaign. Safe to run concurrently: a transaction-scoped advisory
 * lock (`lockMarketingQueue`) serialises planners and survey waves, so two of them never both
 * find one customer under the caps. See the file comment for the steps.
 * @returns counts, or `not_found`, `finished`, or `no_scores` (nothing scored yet).
 */
export async function planCampaign(
  db: Database,
  campaignId: number,
  options: {
    now: Date;
    policy: ContactPolicy;
    /** Plan this one customer instead of the targeting; an audit row names `actor` when they join. */
    only?: { customerId: number; actor: string };
  },
): Promise<Result<PlanSummary, PlanError>> {
  const started = Date.now();
  const found = await getCampaign(db, campaignId);
  if (!found.ok) return found;
  const campaign = found.value;
  if (campaign.status === "finished") return err({ type: "finished", campaignId });
  const [run] = await db.prisma.$queryRaw<{ id: number }[]>`
    SELECT id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1`;
  if (!run) return err({ type: "no_scores" });

  const { now, policy } = options;
  const filters: Prisma.Sql[] = [
    Prisma.sql`s.run_id = ${run.id}`,
    ...(options.only
      ? [Prisma.sql`s.customer_id = ${options.only.customerId}`]
      : targetingFilters(campaign.targeting, now)),
  ];
  const byRisk = campaign.targeting.rankBy === "risk";
  const refusal = contactRefusalSql(policy, now, { customer: "c", kind: "offer" });
  const learned = byRisk
    ? emptyPolicy()
    : await learnedPolicy(db, campaign.offerKeys, filters, `${campaign.seed}:${now.toISOString()}`, now);

  return db.prisma.$transaction(
    async (tx) => {
      // Serialises every planner and survey wave: the contact policy below sees what the others queued.
      await lockMarketingQueue(tx);
      const [spent] = await tx.$queryRaw<{ cost: number | null }[]>`
        SELECT sum(o.cost)::float8 AS cost FROM campaign_assignments a JOIN offers o ON o.id = a.offer_id
        WHERE a.campaign_id = ${campaignId} AND a."group" = 'treatment'`;
      const remaining = campaign.budget === null ? null : campaign.budget - (spent?.cost ?? 0);

      // The decisions go to a temporary table first: the inserts below then read a fixed set
      // instead of anti-joining tables they are growing (quadratic on a million rows).
      const timings: Record<string, number> = {};
      let mark = Date.now();
      const lap = (name: string) => {
        timings[name] = Date.now() - mark;
        mark = Date.now();
      };
      await tx.$executeRaw`DROP TABLE IF EXISTS plan_new`;
      await tx.$executeRaw`
        CREATE TEMP TABLE plan_new ON COMMIT DROP AS
        WITH offers AS (
          SELECT id, cost::float8 AS cost, save_probability,
            (row_number() OVER (ORDER BY id) - 1)::int AS idx, count(*) OVER ()::int AS n
          FROM offers WHERE key = ANY(${campaign.offerKeys}::text[]) AND active
        ), policy AS (
          SELECT * FROM unnest(${learned.segments}::text[], ${learned.riskBands}::text[], ${learned.offerIds}::int[],
            ${learned.uplifts}::float8[], ${learned.rates}::float8[]) AS p(segment, risk_band, offer_id, uplift, rate)
        ), personal AS (
          SELECT * FROM unnest(${learned.customerIds}::int[], ${learned.customerUplifts}::float8[]) AS q(customer_id, uplift)
        ), cand AS (
          SELECT s.customer_id, s.churn_probability, s.risk_band, s.segment, coalesce(s.clv, 0) AS clv, c.time_zone,
            ${refusal} AS reason,
            CASE WHEN ${hashSql(campaign.seed, Prisma.sql`s.customer_id`)} < ${campaign.controlShare} THEN 'control' ELSE 'treatment' END AS arm,
            ${hashSql(`${campaign.seed}:explore`, Prisma.sql`s.customer_id`)} AS explore_draw,
            ${hashSql(`${campaign.seed}:offer`, Prisma.sql`s.customer_id`)} AS pick
          FROM scores s JOIN customers c ON c.id = s.customer_id
          WHERE ${Prisma.join(filters, " AND ")}
            AND NOT EXISTS (SELECT 1 FROM campaign_assignments a WHERE a.campaign_id = ${campaignId} AND a.customer_id = s.customer_id)
        ), drawn AS (
          SELECT cand.*, explore_draw < ${campaign.exploreShare}::float8 AS explore FROM cand
        ), scored AS (
          SELECT drawn.*, o.id AS offer_id, o.cost, o.idx, o.n,
            coalesce(q.uplift, p.uplift, drawn.churn_probability * o.save_probability) AS uplift,
            coalesce(p.rate, drawn.churn_probability * o.save_probability) * drawn.clv - o.cost AS choice
          FROM drawn CROSS JOIN offers o
          LEFT JOIN policy p ON p.segment = drawn.segment AND p.risk_band = drawn.risk_band AND p.offer_id = o.id
          LEFT JOIN personal q ON q.customer_id = drawn.customer_id
        ), best AS (
          SELECT DISTINCT ON (customer_id) scored.*, uplift * clv - cost AS ev,
            CASE WHEN ${byRisk}::boolean THEN churn_probability ELSE uplift * clv - cost END AS rank_key
          FROM scored WHERE NOT explore OR idx = least(n - 1, floor(pick * n)::int)
          ORDER BY customer_id, choice DESC, cost, offer_id
        ), ranked AS (
          SELECT best.*,
            CASE WHEN reason IS NULL AND ev <= 0 AND NOT explore AND NOT ${byRisk}::boolean THEN 'no_positive_offer' ELSE reason END AS why
          FROM best
        ), budgeted AS (
          SELECT ranked.*,
            sum(CASE WHEN arm = 'treatment' THEN cost ELSE 0 END)
              OVER (PARTITION BY explore ORDER BY CASE WHEN explore THEN -explore_draw ELSE rank_key END DESC, customer_id ROWS UNBOUNDED PRECEDING) AS running_cost,
            ${remaining}::float8 * CASE WHEN explore THEN ${campaign.exploreShare}::float8 ELSE 1 - ${campaign.exploreShare}::float8 END AS pool_budget
          FROM ranked WHERE why IS NULL
        )
        SELECT customer_id, churn_probability, risk_band, segment, clv, offer_id, ev, uplift, explore, time_zone,
          CASE WHEN pool_budget IS NOT NULL AND running_cost > pool_budget THEN 'excluded' ELSE arm END AS grp,
          CASE WHEN pool_budget IS NOT NULL AND running_cost > pool_budget THEN 'over_budget' END AS why
        FROM budgeted
        UNION ALL
        SELECT customer_id, churn_probability, risk_band, segment, clv, offer_id, ev, uplift, explore, time_zone, 'excluded', why
        FROM ranked WHERE why IS NOT NULL`;
      await tx.$executeRaw`ANALYZE plan_new`;
      lap("select");
      await tx.$executeRaw`
        INSERT INTO campaign_assignments (campaign_id, customer_id, "group", offer_id, churn_probability, risk_band, segment, clv,
          expected_value, expected_uplift, explore, skipped_reason, assigned_at)
        SELECT ${campaignId}, customer_id, grp, offer_id, churn_probability, risk_band, segment, clv, ev, uplift, explore, why,
          ${sqlTimestamp(now)} FROM plan_new
        WHERE grp <> 'excluded'
        ON CONFLICT (campaign_id, customer_id) DO NOTHING`;
      const assigned = await tx.$queryRaw<{ group: string; reason: string | null; n: number; explored: number }[]>`
        SELECT grp AS "group", why AS reason, count(*)::int AS n, count(*) FILTER (WHERE explore)::int AS explored
        FROM plan_new GROUP BY 1, 2`;
      lap("assign");
      const newlyTreated = assigned.filter((a) => a.group === "treatment").reduce((sum, a) => sum + a.n, 0);

      // Quiet hours depend only on the time zone and the clock: one computation per zone.
      const sendFrom = campaign.startsAt && campaign.startsAt > now ? campaign.startsAt : now;
      const zones = await tx.$queryRaw<
        { tz: string | null }[]
      >`SELECT DISTINCT time_zone AS tz FROM plan_new WHERE grp = 'treatment'`;
      const zoneNames = zones.map((z) => z.tz ?? "");
      const zoneStarts = zones.map((z) =>
        nextSendableAt(sendFrom, effectiveTimeZone(z.tz, policy.businessTimeZone), policy).toISOString(),
      );

      // Offer issues with short unguessable codes (core/offers/offer-code.ts) and their outbox
      // rows in one statement. A code collision (about one per million offers out) drops that row;
      // the next round issues the missing ones with fresh codes.
      let offersIssued = 0;
      let messagesQueued = 0;
      for (let round = 0; round < 3 && offersIssued < newlyTreated; round++) {
        if (round > 0) await tx.$executeRaw`ANALYZE offer_issues`;
        const missing =
          round === 0
            ? Prisma.sql`true`
            : Prisma.sql`NOT EXISTS (SELECT 1 FROM offer_issues i WHERE i.customer_id = n.customer_id AND i.campaign_id = ${campaignId})`;
        const [counts] = await tx.$queryRaw<{ issued: number; queued: number }[]>`
          WITH zone AS (SELECT * FROM unnest(${zoneNames}::text[], ${zoneStarts}::text[]) AS z(tz, starts)),
          issued AS (
            INSERT INTO offer_issues (code, customer_id, offer_id, campaign_id, status, issued_at, expires_at)
            SELECT ${offerCodeSql(Prisma.sql`${campaign.seed} || ':' || n.customer_id`)},
                   n.customer_id, n.offer_id, ${campaignId}, 'issued', ${sqlTimestamp(now)},
                   ${sqlTimestamp(now)} + make_interval(days => o.valid_days + ${campaign.windowDays}::int)
            FROM plan_new n JOIN offers o ON o.id = n.offer_id
            WHERE n.grp = 'treatment' AND ${missing}
            ON CONFLICT (code) DO NOTHING
            RETURNING id, customer_id, offer_id, code, expires_at
          ), queued AS (
            INSERT INTO outbox_messages (idempotency_key, customer_id, campaign_id, kind, channel, payload, status, not_before, created_at)
            SELECT 'campaign:' || ${campaignId}::int || ':customer:' || i.customer_id || ':offer', i.customer_id, ${campaignId}, 'offer', 'telegram',
                   ${issuedOfferPayloadSql("i", "o")} || jsonb_build_object('campaignId', ${campaignId}::int),
                   'pending', (zone.starts::timestamptz AT TIME ZONE 'UTC'), ${sqlTimestamp(now)}
            FROM issued i
            JOIN offers o ON o.id = i.offer_id
            JOIN plan_new n ON n.customer_id = i.customer_id
            JOIN zone ON zone.tz = coalesce(n.time_zone, '')
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING 1
          )
          SELECT (SELECT count(*) FROM issued)::int AS issued, (SELECT count(*) FROM queued)::int AS queued`;
        offersIssued += counts?.issued ?? 0;
        messagesQueued += counts?.queued ?? 0;
      }
      lap("issue");

      const [total] = await tx.$queryRaw<{ cost: number | null }[]>`
        SELECT sum(o.cost)::float8 AS cost FROM campaign_assignments a JOIN offers o ON o.id = a.offer_id
        WHERE a.campaign_id = ${campaignId} AND a."group" = 'treatment'`;
      if (!options.only)
        await tx.$executeRaw`
          UPDATE campaigns SET planned_at = ${sqlTimestamp(now)}, status = CASE WHEN status = 'draft' THEN 'active' ELSE status END,
            starts_at = coalesce(starts_at, ${sqlTimestamp(now)})
          WHERE id = ${campaignId}`;
      else {
        // One customer a staff member added: who did it, in the same transaction as the assignment.
        const joined = assigned.find((a) => a.group === "treatment" || a.group === "control");
        if (joined)
          await tx.auditLog.create({
            data: {
              actor: options.only.actor,
              action: "campaign.customer_added",
              entityType: "customer",
              entityId: String(options.only.customerId),
              details: { campaignId, group: joined.group },
              createdAt: now,
            },
          });
      }

      const excluded: Record<string, number> = {};
      let treatment = 0;
      let control = 0;
      for (const row of assigned) {
        if (row.group === "treatment") treatment += row.n;
        else if (row.group === "control") control += row.n;
        else excluded[row.reason ?? "unknown"] = (excluded[row.reason ?? "unknown"] ?? 0) + row.n;
      }
      return ok({
        campaignId,
        scoreRunId: run.id,
        treatment,
        control,
        excluded,
        offersIssued,
        messagesQueued,
        upliftModelId: learned.modelId,
        explored: assigned.filter((a) => a.group === "treatment").reduce((sum, a) => sum + a.explored, 0),
        committedCost: total?.cost ?? 0,
        durationMs: Date.now() - started,
        timings,
      });
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
}

/** The campaign's targeting as conditions on `scores s` of the run being planned. */
function targetingFilters(t: Targeting, now: Date): Prisma.Sql[] {
  const day = (n: number) => sqlTimestamp(new Date(now.getTime() - n * 86_400_000));
  const filters: Prisma.Sql[] = [];
  if (t.segments) filters.push(Prisma.sql`s.segment = ANY(${t.segments}::text[])`);
  if (t.riskBands) filters.push(Prisma.sql`s.risk_band = ANY(${t.riskBands}::text[])`);
  if (t.minRisk !== undefined) filters.push(Prisma.sql`s.churn_probability >= ${t.minRisk}`);
  if (t.minClv !== undefined) filters.push(Prisma.sql`coalesce(s.clv, 0) >= ${t.minClv}`);
  if (t.split) {
    const h = hashSql(t.split.seed, Prisma.sql`s.customer_id`);
    filters.push(
      Prisma.sql`${h} >= ${t.split.part / t.split.parts}::float8 AND ${h} < ${(t.split.part + 1) / t.split.parts}::float8`,
    );
  }
  if (t.minDaysSinceLastPurchase !== undefined) {
    filters.push(
      Prisma.sql`NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = s.customer_id AND p.purchased_at > ${day(t.minDaysSinceLastPurchase)})`,
    );
  }
  if (t.minDaysSinceLastOffer !== undefined) {
    filters.push(
      Prisma.sql`NOT EXISTS (SELECT 1 FROM offer_issues i WHERE i.customer_id = s.customer_id AND i.issued_at > ${day(t.minDaysSinceLastOffer)})`,
    );
  }
  return filters;
}

interface LearnedPolicy {
  modelId: number | null;
  segments: string[];
  riskBands: string[];
  offerIds: number[];
  uplifts: number[];
  rates: number[];
  /** Per-customer uplift (learner blended with the cell), where the learner has a weight. */
  customerIds: number[];
  customerUplifts: number[];
}

const emptyPolicy = (): LearnedPolicy => ({
  modelId: null,
  segments: [],
  riskBands: [],
  offerIds: [],
  uplifts: [],
  rates: [],
  customerIds: [],
  customerUplifts: [],
});

/**
 * The learned part of the policy as rows per segment x risk band x offer: the uplift model's
 * estimate, and this plan's Thompson draw of the offer's retention rate among treated customers
 * (the prior: the segment's control rate plus the offer's hand-typed save probability); and,
 * when the per-customer learner has a weight, each targeted customer's blended uplift (features
 * as of `now`). Empty before any campaign has finished, when planning falls back to the
 * hand-typed probabilities.
 */
async function learnedPolicy(
  db: Database,
  offerKeys: string[],
  filters: Prisma.Sql[],
  drawSeed: string,
  now: Date,
): Promise<LearnedPolicy> {
  const policy = emptyPolicy();
  const model = await activeUpliftModel(db);
  if (!model) return policy;
  policy.modelId = model.id;
  const offers = await db.prisma.offer.findMany({
    where: { key: { in: offerKeys }, active: true },
    orderBy: { id: "asc" },
  });
  const cells = await db.prisma.$queryRaw<{ segment: string; risk_band: string }[]>`
    SELECT s.segment, s.risk_band FROM scores s WHERE ${Prisma.join(filters, " AND ")} GROUP BY 1, 2 ORDER BY 1, 2`;
  const clamp = (p: number) => Math.min(0.99, Math.max(0.01, p));
  const segments = [...new Set(cells.map((c) => c.segment))];
  const rates = drawOfferRates(
    segments,
    (segment) =>
      offers.map((o) => ({
        offerId: String(o.id),
        priorProbability: clamp((model.cells.controlRate[segment] ?? 0) + o.saveProbability),
      })),
    model.cells.offers,
    { seed: assignmentHash(drawSeed, 0) * 4294967296 },
  );
  for (const c of cells) {
    const uplift = cellUplift(model.cells, c.segment, c.risk_band);
    offers.forEach((o, i) => {
      policy.segments.push(c.segment);
      policy.riskBands.push(c.risk_band);
      policy.offerIds.push(o.id);
      policy.uplifts.push(uplift);
      policy.rates.push(rates.get(c.segment)![i]!);
    });
  }
  if (model.learner && model.learner.weight > 0) {
    const people = await db.prisma.$queryRaw<{ customer_id: number; segment: string; risk_band: string }[]>`
      SELECT s.customer_id, s.segment, s.risk_band FROM scores s WHERE ${Prisma.join(filters, " AND ")} ORDER BY 1`;
    policy.customerIds = people.map((p) => p.customer_id);
    const cellOf = new Map(people.map((p) => [p.customer_id, cellUplift(model.cells, p.segment, p.risk_band)]));
    policy.customerUplifts = await blendedUplifts(db, model.learner, policy.customerIds, now, (id) => cellOf.get(id)!);
  }
  return policy;
}
