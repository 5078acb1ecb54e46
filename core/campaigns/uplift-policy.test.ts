import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { createCampaign, type CampaignInput } from "./campaign";
import type { ContactPolicy } from "./contact-policy";
import { assignmentHash, planCampaign } from "./plan";
import { activeUpliftModel, cellUplift, fitUpliftModel } from "./uplift-model";
import { insertScoredCustomers, upsertOffers } from "./test-fixtures";

const T0 = new Date("2026-03-02T12:00:00Z");
const T1 = new Date("2026-04-13T12:00:00Z"); // after the first campaign's 30-day window
const DAY = 86_400_000;
// No caps or spacing: several campaigns at one clock all see the same customers.
const open: ContactPolicy = {
  quietHoursStart: 0,
  quietHoursEnd: 0,
  offerCapDays: 0,
  surveyCapDays: 0,
  spacingHours: 0,
  declineCooldownDays: 0,
  businessTimeZone: "UTC",
};
const OFFERS = [
  { key: "cheap", cost: 2, saveProbability: 0.1 },
  { key: "rich", cost: 20, saveProbability: 0.3 },
];
// Persuadables are less at risk than sure things, so the hand-typed EV (risk x save x CLV) ranks
// the sure things first; the store's own experiment says the offer changes only persuadables.
const GROUPS = [
  { segment: "Persuadable", churn: 0.6, treatedRate: 0.6, controlRate: 0.2 },
  { segment: "Sure thing", churn: 0.9, treatedRate: 0.7, controlRate: 0.7 },
];
const PER_GROUP = 200;

async function campaign(db: Database, input: Partial<CampaignInput> & { seed: string }, now: Date): Promise<number> {
  const created = await createCampaign(db, { name: input.seed, offerKeys: ["cheap", "rich"], ...input }, { now });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const planned = await planCampaign(db, created.value.id, { now, policy: open });
  if (!planned.ok) throw new Error(JSON.stringify(planned.error));
  return created.value.id;
}

describeEachDatabase("planning by expected incremental value", (kind) => {
  let db: Database;
  let segmentOf: Map<number, string>;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
    await upsertOffers(db, OFFERS);
    const people = GROUPS.flatMap((g) =>
      Array.from({ length: PER_GROUP }, (_, i) => ({
        externalId: `${g.segment}-${i}`,
        churnProbability: g.churn,
        clv: 200,
        riskBand: "high",
        segment: g.segment,
      })),
    );
    const { ids } = await insertScoredCustomers(db, people, T0);
    segmentOf = new Map(ids.map((id, i) => [id, people[i]!.segment]));

    // A finished experiment: half treated, everyone assigned; retained at the group's rate,
    // spread evenly over the customers of each arm.
    const first = await campaign(db, { seed: "past", controlShare: 0.5, exploreShare: 0 }, T0);
    const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: first }, orderBy: { id: "asc" } });
    const seen = new Map<string, number>();
    const buyers: number[] = [];
    for (const r of rows) {
      const g = GROUPS.find((x) => x.segment === segmentOf.get(r.customerId))!;
      const key = `${g.segment}:${r.group}`;
      const k = (seen.get(key) ?? 0) + 1;
      seen.set(key, k);
      const rate = r.group === "treatment" ? g.treatedRate : g.controlRate;
      if (Math.floor(k * rate) > Math.floor((k - 1) * rate)) buyers.push(r.customerId);
    }
    await db.prisma.$executeRaw`
      INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
      SELECT 'past-' || c, c, ${sqlTimestamp(new Date(T0.getTime() + 5 * DAY))}, 30 FROM unnest(${buyers}::int[]) AS x(c)`;
    const model = await fitUpliftModel(db, { now: T1 });
    expect(model).not.toBeNull();
  });
  afterEach(async () => {
    await db.close();
  });

  it("learns the effect per segment and spends the budget on persuadables, not sure things", async () => {
    const model = await activeUpliftModel(db);
    expect(cellUplift(model!.cells, "Persuadable", "high")).toBeGreaterThan(0.3);
    expect(Math.abs(cellUplift(model!.cells, "Sure thing", "high"))).toBeLessThan(0.05);
    // The hand-typed prior ranked the sure things first in the past campaign.
    const past = await db.prisma.campaignAssignment.findMany({ where: { campaign: { seed: "past" } } });
    const ev = (segment: string) =>
      Math.max(...past.filter((r) => segmentOf.get(r.customerId) === segment).map((r) => r.expectedValue!));
    expect(ev("Sure thing")).toBeGreaterThan(ev("Persuadable"));

    const id = await campaign(db, { seed: "learned", controlShare: 0.1, exploreShare: 0, budget: 400 }, T1);
    const treated = await db.prisma.campaignAssignment.findMany({ where: { campaignId: id, group: "treatment" } });
    expect(treated.length).toBeGreaterThan(15);
    for (const r of treated) {
      expect(segmentOf.get(r.customerId)).toBe("Persuadable");
      expect(r.segment).toBe("Persuadable");
      expect(r.expectedUplift).toBeCloseTo(cellUplift(model!.cells, "Persuadable", "high"), 9);
    }
  });

  it("never targets a control customer: the seeded split decides control before the policy ranks", async () => {
    for (const seed of ["a", "b", "c", "d", "e", "f"]) {
      const controlShare = 0.3;
      const id = await campaign(db, { seed, controlShare, exploreShare: 0.3, budget: 300 }, T1);
      const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: id } });
      expect(rows.filter((r) => r.group === "control").length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(r.group).toBe(assignmentHash(seed, r.customerId) < controlShare ? "control" : "treatment");
      }
      const control = rows.filter((r) => r.group === "control").map((r) => r.customerId);
      expect(await db.prisma.offerIssue.count({ where: { campaignId: id, customerId: { in: control } } })).toBe(0);
      expect(await db.prisma.outboxMessage.count({ where: { campaignId: id, customerId: { in: control } } })).toBe(0);
      const treated = rows.filter((r) => r.group === "treatment").length;
      expect(await db.prisma.offerIssue.count({ where: { campaignId: id } })).toBe(treated);
    }
  });

  it("keeps the explore share: hash-chosen customers with random offers, within their share of the budget", async () => {
    const exploreShare = 0.25;
    const budget = 1000;
    const id = await campaign(db, { seed: "explore", controlShare: 0.1, exploreShare, budget }, T1);
    const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: id }, include: { offer: true } });
    for (const r of rows) expect(r.explore).toBe(assignmentHash("explore:explore", r.customerId) < exploreShare);
    const treated = rows.filter((r) => r.group === "treatment");
    const cost = (xs: typeof treated) => xs.reduce((s, r) => s + Number(r.offer!.cost), 0);
    const exploring = treated.filter((r) => r.explore);
    expect(cost(exploring)).toBeLessThanOrEqual(budget * exploreShare);
    expect(cost(exploring)).toBeGreaterThan(budget * exploreShare - 20); // filled up to its share
    expect(cost(treated.filter((r) => !r.explore))).toBeLessThanOrEqual(budget * (1 - exploreShare));
    // Exploring reaches sure things too, and tries both offers.
    expect(exploring.some((r) => r.segment === "Sure thing")).toBe(true);
    expect(new Set(exploring.map((r) => r.offer!.key))).toEqual(new Set(["cheap", "rich"]));
  });
});
