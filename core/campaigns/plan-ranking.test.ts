import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { createCampaign, type CampaignInput } from "./campaign";
import type { ContactPolicy } from "./contact-policy";
import { assignmentHash, planCampaign } from "./plan";
import { insertScoredCustomers, upsertOffers } from "./test-fixtures";

const T0 = new Date("2026-03-02T12:00:00Z");
const open: ContactPolicy = {
  quietHoursStart: 0,
  quietHoursEnd: 0,
  offerCapDays: 0,
  surveyCapDays: 0,
  spacingHours: 0,
  declineCooldownDays: 0,
  businessTimeZone: "UTC",
};
const N = 120;

async function plan(db: Database, input: Partial<CampaignInput> & { seed: string }) {
  const created = await createCampaign(db, { name: input.seed, offerKeys: ["cheap"], ...input }, { now: T0 });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const planned = await planCampaign(db, created.value.id, { now: T0, policy: open });
  if (!planned.ok) throw new Error(JSON.stringify(planned.error));
  const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: created.value.id } });
  return { id: created.value.id, summary: planned.value, rows };
}

describeEachDatabase("ranking by risk, and campaigns on disjoint random shares", (kind) => {
  let db: Database;
  let churnOf: Map<number, number>;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
    await upsertOffers(db, [{ key: "cheap", cost: 2, saveProbability: 0.1 }]);
    // The riskier a customer, the less they are worth: expected value ranks the other way round
    // from risk, and the riskiest fifth is worth nothing at all (negative expected value).
    const people = Array.from({ length: N }, (_, i) => {
      const churn = 0.3 + (0.65 * i) / (N - 1);
      return { externalId: `c-${i}`, churnProbability: churn, clv: i >= (4 * N) / 5 ? 0 : 400 * (1 - churn) };
    });
    const { ids } = await insertScoredCustomers(db, people, T0);
    churnOf = new Map(ids.map((id, i) => [id, people[i]!.churnProbability]));
  });
  afterEach(async () => {
    await db.close();
  });

  it("rankBy risk spends the budget from the highest churn probability down, negative expected value included", async () => {
    const budget = 60; // 30 treated customers at 2 each
    const risk = await plan(db, {
      seed: "risk",
      controlShare: 0.2,
      exploreShare: 0,
      budget,
      targeting: { rankBy: "risk" },
    });
    const assigned = new Set(risk.rows.map((r) => r.customerId));
    const treated = risk.rows.filter((r) => r.group === "treatment");
    expect(treated.length).toBe(30);
    expect(risk.summary.upliftModelId).toBeNull();
    const lowestIn = Math.min(...risk.rows.map((r) => churnOf.get(r.customerId)!));
    const highestOut = Math.max(...[...churnOf].filter(([id]) => !assigned.has(id)).map(([, p]) => p));
    expect(lowestIn).toBeGreaterThan(highestOut);
    expect(treated.some((r) => r.expectedValue! < 0)).toBe(true);
    // Control is still the seeded hash, cut at the same point, and sent nothing.
    for (const r of risk.rows)
      expect(r.group).toBe(assignmentHash("risk", r.customerId) < 0.2 ? "control" : "treatment");
    const control = risk.rows.filter((r) => r.group === "control").map((r) => r.customerId);
    expect(control.length).toBeGreaterThan(0);
    expect(await db.prisma.offerIssue.count({ where: { campaignId: risk.id, customerId: { in: control } } })).toBe(0);

    // Ranked by expected value (the default), the same budget goes to the least risky instead,
    // and nobody with a negative expected value is assigned.
    const value = await plan(db, { seed: "value", controlShare: 0.2, exploreShare: 0, budget });
    expect(value.rows.every((r) => r.expectedValue! > 0)).toBe(true);
    expect(Math.max(...value.rows.map((r) => churnOf.get(r.customerId)!))).toBeLessThan(lowestIn);
    expect(value.summary.excluded.no_positive_offer).toBe(N / 5);
  });

  it("split parts of one seed target disjoint random shares that together are everyone", async () => {
    const parts = [0, 1, 2].map((part) => ({ seed: "ab", part, parts: 3 }));
    const planned = [];
    for (const split of parts)
      planned.push(
        await plan(db, { seed: `split-${split.part}`, controlShare: 0.2, exploreShare: 0, targeting: { split } }),
      );
    const seen = new Map<number, number>();
    planned.forEach((p, part) => {
      expect(p.rows.length).toBeGreaterThan(N / 6);
      for (const r of p.rows) {
        expect(seen.has(r.customerId)).toBe(false);
        seen.set(r.customerId, part);
        expect(Math.floor(assignmentHash("ab", r.customerId) * 3)).toBe(part);
      }
    });
    // Everyone with a positive expected value is in exactly one part.
    expect(seen.size).toBe(N - N / 5);
    const bad = await createCampaign(
      db,
      { name: "bad", offerKeys: ["cheap"], targeting: { split: { seed: "ab", part: 2, parts: 2 } } },
      { now: T0 },
    );
    expect(bad.ok).toBe(false);
  });
});
