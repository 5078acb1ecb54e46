import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCustomers, makeFeedback, makePurchases } from "../../test/helpers/analytics-fixtures";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import {
  activityRate,
  averageOrderValue,
  churnRate,
  computeMetrics,
  expectedLifetime,
  lifetimeValue,
  loyaltyRoi,
  nps,
  npsFromScores,
  purchaseFrequency,
  repeatPurchaseRate,
} from "./metrics";

describe("metric formulas", () => {
  it("NPS is % promoters minus % detractors, with counts", () => {
    expect(npsFromScores([10, 9, 9, 8, 7, 6, 0, 3, 10, 5])).toEqual({
      promoters: 4,
      passives: 2,
      detractors: 4,
      respondents: 10,
      nps: 0,
    });
    expect(npsFromScores([10, 9, 8]).nps).toBeCloseTo(66.667, 3);
    expect(npsFromScores([0, 6]).nps).toBe(-100);
    expect(npsFromScores([11, -1]).respondents).toBe(0);
    expect(nps({ promoters: 0, passives: 0, detractors: 0 }).nps).toBeNull();
  });
  it("rates are simple ratios, null on an empty base", () => {
    expect(churnRate(15, 60)).toBe(0.25);
    expect(churnRate(0, 0)).toBeNull();
    expect(activityRate(300, 1200)).toBe(0.25);
    expect(repeatPurchaseRate(30, 120)).toBe(0.25);
    expect(averageOrderValue(1234.5, 10)).toBeCloseTo(123.45, 10);
    expect(purchaseFrequency(300, 120)).toBe(2.5);
  });
  it("LTV = AOV x purchases per period x margin x lifetime, lifetime = 1 / churn capped", () => {
    expect(expectedLifetime(0.25)).toBe(4);
    expect(expectedLifetime(0)).toBe(20);
    expect(expectedLifetime(0.01, 10)).toBe(10);
    // AOV 50, 2 purchases a quarter, 30% margin, 25% quarterly churn -> 4 quarters: 50*2*0.3*4 = 120
    expect(
      lifetimeValue({ aov: 50, purchasesPerPeriod: 2, grossMargin: 0.3, lifetimePeriods: expectedLifetime(0.25) }),
    ).toBeCloseTo(120, 10);
    expect(lifetimeValue({ aov: null, purchasesPerPeriod: 2, grossMargin: 0.3, lifetimePeriods: 4 })).toBeNull();
  });
  it("loyalty ROI = (treated - control - cost) / cost", () => {
    expect(loyaltyRoi({ revenueTreated: 12_000, revenueControl: 10_000, cost: 1_000 })).toBe(1);
    expect(loyaltyRoi({ revenueTreated: 10_500, revenueControl: 10_000, cost: 1_000 })).toBe(-0.5);
    expect(loyaltyRoi({ revenueTreated: 1, revenueControl: 0, cost: 0 })).toBeNull();
  });
});

const at = (iso: string) => new Date(`${iso}T12:00:00Z`);
const from = new Date("2025-04-01T00:00:00Z");
const to = new Date("2025-07-01T00:00:00Z");

describeEachDatabase("metrics from the store", (kind) => {
  let db: Database;
  let ids: number[];
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    ids = await makeCustomers(db, [
      { signedUpAt: at("2024-01-01") }, // A: active at start, buys twice in the period
      { signedUpAt: at("2024-01-01") }, // B: active at start, lost
      { signedUpAt: at("2024-01-01") }, // C: gone long before
      { signedUpAt: at("2025-05-01") }, // D: member without purchases
      { signedUpAt: null }, // E: first purchase in the period
      { signedUpAt: at("2025-08-01") }, // F: not a member yet
    ]);
    const [a, b, c, , e] = ids as [number, number, number, number, number];
    await makePurchases(db, [
      { customerId: a, at: at("2025-03-15"), amount: 100, grossMargin: 40 },
      { customerId: a, at: at("2025-04-10"), amount: 50, grossMargin: 10 },
      { customerId: a, at: at("2025-05-10"), amount: 30 },
      { customerId: b, at: at("2025-02-01"), amount: 20 },
      { customerId: c, at: at("2024-06-01"), amount: 10 },
      { customerId: e, at: at("2025-06-15"), amount: 70 },
      { customerId: e, at: at("2025-07-15"), amount: 999 }, // after the period
    ]);
    await makeFeedback(db, [
      { customerId: a, kind: "nps", score: 10, at: at("2025-04-05") },
      { customerId: b, kind: "nps", score: 9, at: at("2025-04-06") },
      { customerId: c, kind: "nps", score: 9, at: at("2025-05-06") },
      { customerId: e, kind: "nps", score: 8, at: at("2025-06-20") },
      { customerId: b, kind: "nps", score: 3, at: at("2025-06-21") },
      { customerId: b, kind: "nps", score: 0, at: at("2025-03-01") }, // before the period
    ]);
  });
  afterAll(() => db.close());

  it("matches the hand-computed figures", async () => {
    const m = await computeMetrics(db, { from, to });
    expect(m).toMatchObject({
      members: 5,
      customersAtStart: 2,
      lost: 1,
      active90: 2,
      buyers: 2,
      repeatBuyers: 1,
      purchases: 3,
    });
    expect(m.churnRate).toBe(0.5);
    expect(m.activityRate).toBeCloseTo(0.4, 10);
    expect(m.repeatPurchaseRate).toBe(0.5);
    expect(m.revenue).toBeCloseTo(150, 6);
    expect(m.aov).toBeCloseTo(50, 6);
    expect(m.purchaseFrequency).toBe(1.5);
    expect(m.grossMargin).toBeCloseTo(0.2, 6); // only A's April purchase has a known margin
    expect(m.expectedLifetimePeriods).toBe(2);
    expect(m.ltv).toBeCloseTo(50 * 1.5 * 0.2 * 2, 6);
    expect(m.nps).toEqual({ promoters: 3, passives: 1, detractors: 1, respondents: 5, nps: 40 });
  });

  it("restricts to one segment of the current scoring run", async () => {
    const run = await db.prisma.scoreRun.create({ data: { asOf: to, finishedAt: to } });
    const [a, b] = ids as [number, number];
    await db.prisma.score.createMany({
      data: [
        { runId: run.id, customerId: a, asOf: to, churnProbability: 0.1, riskBand: "low", segment: "Champions" },
        { runId: run.id, customerId: b, asOf: to, churnProbability: 0.9, riskBand: "high", segment: "Lost" },
      ],
    });
    const lost = await computeMetrics(db, { from, to, segment: "Lost" });
    expect(lost).toMatchObject({
      segment: "Lost",
      members: 1,
      customersAtStart: 1,
      lost: 1,
      churnRate: 1,
      buyers: 0,
      aov: null,
    });
    expect(lost.nps).toMatchObject({ respondents: 2, detractors: 1, promoters: 1 });
    const champions = await computeMetrics(db, { from, to, segment: "Champions" });
    expect(champions).toMatchObject({ members: 1, lost: 0, churnRate: 0, expectedLifetimePeriods: 20, purchases: 2 });
  });
});
