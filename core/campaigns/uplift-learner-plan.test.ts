import { afterEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { createCampaign, type CampaignInput } from "./campaign";
import type { ContactPolicy } from "./contact-policy";
import { assignmentHash, planCampaign } from "./plan";
import { effectiveSize } from "./uplift-learner";
import { cellUplift, fitUpliftModel, type UpliftModel } from "./uplift-model";
import { insertScoredCustomers, upsertOffers } from "./test-fixtures";

const T0 = new Date("2026-03-02T12:00:00Z");
const T1 = new Date("2026-04-13T12:00:00Z"); // after the first campaign's 30-day window
const DAY = 86_400_000;
const open: ContactPolicy = {
  quietHoursStart: 0,
  quietHoursEnd: 0,
  offerCapDays: 0,
  surveyCapDays: 0,
  spacingHours: 0,
  declineCooldownDays: 0,
  businessTimeZone: "UTC",
};

// One segment and one risk band, so the cells cannot tell anyone apart; only a customer
// attribute the scoring features carry (attr:loyalty_member) says who the offer moves.
const RATES = {
  loyal: { treatment: 0.6, control: 0.2 },
  other: { treatment: 0.4, control: 0.4 },
};

async function campaign(db: Database, input: Partial<CampaignInput> & { seed: string }, now: Date): Promise<number> {
  const created = await createCampaign(db, { name: input.seed, offerKeys: ["cheap", "rich"], ...input }, { now });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const planned = await planCampaign(db, created.value.id, { now, policy: open });
  if (!planned.ok) throw new Error(JSON.stringify(planned.error));
  return created.value.id;
}

/** A store of `n` customers (half loyalty members) with a finished experiment, and its fitted uplift model. */
async function storeWithExperiment(
  db: Database,
  n: number,
): Promise<{ loyal: Map<number, boolean>; model: UpliftModel }> {
  await upsertOffers(db, [
    { key: "cheap", cost: 2, saveProbability: 0.1 },
    { key: "rich", cost: 20, saveProbability: 0.3 },
  ]);
  const people = Array.from({ length: n }, (_, i) => ({
    externalId: `c-${i}`,
    churnProbability: 0.8,
    clv: 200,
    riskBand: "high",
    segment: "At risk",
  }));
  const { ids } = await insertScoredCustomers(db, people, T0);
  const loyal = new Map(ids.map((id, i) => [id, i % 2 === 0]));
  await db.prisma.$executeRaw`
    UPDATE customers SET attributes = jsonb_build_object('loyalty_member', x.l), signed_up_at = ${sqlTimestamp(new Date(T0.getTime() - 400 * DAY))}
    FROM unnest(${ids}::int[], ${ids.map((id) => loyal.get(id)!)}::bool[]) AS x(c, l) WHERE customers.id = x.c`;
  // Two purchases each before the experiment, so the scoring features (and BG/NBD) have a history.
  await db.prisma.$executeRaw`
    INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
    SELECT 'h-' || c || '-' || k, c, ${sqlTimestamp(T0)}::timestamp - make_interval(days => 20 + (c * 37 + k * 91) % 300), 25 + k
    FROM unnest(${ids}::int[]) AS x(c), generate_series(1, 2) AS k`;

  const first = await campaign(db, { seed: "past", controlShare: 0.5, exploreShare: 0 }, T0);
  const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: first }, orderBy: { id: "asc" } });
  expect(rows.length).toBe(n);
  // Retained at each group's rate, spread evenly over the customers of each arm.
  const seen = new Map<string, number>();
  const buyers: number[] = [];
  for (const r of rows) {
    const kind = loyal.get(r.customerId) ? "loyal" : "other";
    const key = `${kind}:${r.group}`;
    const k = (seen.get(key) ?? 0) + 1;
    seen.set(key, k);
    const rate = RATES[kind][r.group as "treatment" | "control"];
    if (Math.floor(k * rate) > Math.floor((k - 1) * rate)) buyers.push(r.customerId);
  }
  await db.prisma.$executeRaw`
    INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
    SELECT 'past-' || c, c, ${sqlTimestamp(new Date(T0.getTime() + 5 * DAY))}, 30 FROM unnest(${buyers}::int[]) AS x(c)`;
  const model = await fitUpliftModel(db, { now: T1 });
  expect(model).not.toBeNull();
  return { loyal, model: model! };
}

describeEachDatabase("planning with the per-customer uplift learner", (kind) => {
  let db: Database;
  afterEach(async () => {
    await db.close();
  });

  it("learns who the offer moves from a customer attribute and spends on them; control stays random and untouched", async () => {
    db = await createTestDatabase(kind);
    const { loyal, model } = await storeWithExperiment(db, 600);
    const learner = model.learner!;
    expect(learner).not.toBeNull();
    expect(learner.heldOut).toBe("5-fold cross-fitting by customer");
    expect(learner.qini!).toBeGreaterThan(0);
    expect(learner.weight).toBeGreaterThan(0.3);
    // The cells see one cell with the average effect (about +0.2).
    const cell = cellUplift(model.cells, "At risk", "high");
    expect(cell).toBeGreaterThan(0.1);

    const controlShare = 0.2;
    const id = await campaign(db, { seed: "learned", controlShare, exploreShare: 0, budget: 300 }, T1);
    const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: id } });
    const treated = rows.filter((r) => r.group === "treatment");
    expect(treated.length).toBeGreaterThan(10);
    // Everyone the budget reached is a loyalty member, with a higher estimate than the cell's.
    for (const r of rows) {
      expect(loyal.get(r.customerId)).toBe(true);
      expect(r.expectedUplift!).toBeGreaterThan(cell);
    }
    // The split is the seeded hash, decided before the ranking; control customers get nothing.
    for (const r of rows)
      expect(r.group).toBe(assignmentHash("learned", r.customerId) < controlShare ? "control" : "treatment");
    const control = rows.filter((r) => r.group === "control").map((r) => r.customerId);
    expect(control.length).toBeGreaterThan(0);
    expect(await db.prisma.offerIssue.count({ where: { campaignId: id, customerId: { in: control } } })).toBe(0);
    expect(await db.prisma.outboxMessage.count({ where: { campaignId: id, customerId: { in: control } } })).toBe(0);
    expect(await db.prisma.offerIssue.count({ where: { campaignId: id } })).toBe(treated.length);

    // Without a budget, every customer is assigned: the learner's estimates split them by attribute.
    const all = await campaign(db, { seed: "everyone", controlShare, exploreShare: 0 }, T1);
    const everyone = await db.prisma.campaignAssignment.findMany({ where: { campaignId: all } });
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const byLoyal = (l: boolean) =>
      mean(everyone.filter((r) => loyal.get(r.customerId) === l).map((r) => r.expectedUplift!));
    expect(byLoyal(true)).toBeGreaterThan(cell);
    expect(byLoyal(false)).toBeLessThan(cell);
    expect(byLoyal(true) - byLoyal(false)).toBeGreaterThan(0.1);
  });

  it("leans on the cells when the learner was trained on little data", async () => {
    db = await createTestDatabase(kind);
    const { model } = await storeWithExperiment(db, 40);
    const learner = model.learner!;
    expect(learner).not.toBeNull();
    const n = effectiveSize(learner.treatedRows, learner.controlRows);
    expect(n).toBeLessThan(12);
    // The weight is n / (n + 200) at most (0 when the held-out Qini is not above zero).
    expect(learner.weight).toBeLessThanOrEqual(n / (n + 200) + 1e-12);
    const cell = cellUplift(model.cells, "At risk", "high");
    const id = await campaign(db, { seed: "thin", controlShare: 0.2, exploreShare: 0 }, T1);
    const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: id } });
    expect(rows.length).toBe(40);
    // An estimate moves from the cell's by at most the weight times the learner's difference (< 2).
    for (const r of rows) expect(Math.abs(r.expectedUplift! - cell)).toBeLessThanOrEqual(2 * learner.weight + 1e-9);
  });
});
