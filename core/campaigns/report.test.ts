import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { createCampaign } from "./campaign";
import { campaignReport, formatCampaignReport } from "./report";
import { insertScoredCustomers, upsertOffers } from "./test-fixtures";

const START = new Date("2026-03-01T00:00:00Z");
const day = (n: number) => new Date(START.getTime() + n * 86_400_000);

describeEachDatabase("campaign report", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("attributes window purchases and redemptions to the arms and computes lift, ROI and NPV by hand", async () => {
    await upsertOffers(db, [{ key: "o10", cost: 10, saveProbability: 0.2 }]);
    const created = await createCampaign(
      db,
      { name: "hand", offerKeys: ["o10"], windowDays: 30, startsAt: START, seed: "x" },
      { now: START },
    );
    if (!created.ok) throw new Error("create failed");
    const cid = created.value.id;
    const names = ["t1", "t2", "t3", "t4", "c1", "c2", "x1"];
    const { ids } = await insertScoredCustomers(
      db,
      names.map((n) => ({ externalId: n, churnProbability: 0.8, clv: 100 })),
      START,
    );
    const id = (n: string) => ids[names.indexOf(n)]!;
    const offer = await db.prisma.offer.findUniqueOrThrow({ where: { key: "o10" } });
    const assign = (n: string, group: string, riskBand: string, skippedReason: string | null = null) =>
      db.prisma.campaignAssignment.create({
        data: { campaignId: cid, customerId: id(n), group, riskBand, offerId: offer.id, skippedReason },
      });
    await assign("t1", "treatment", "high");
    await assign("t2", "treatment", "high");
    await assign("t3", "treatment", "medium");
    await assign("t4", "treatment", "medium");
    await assign("c1", "control", "high");
    await assign("c2", "control", "medium");
    await assign("x1", "excluded", "high", "not_linked");
    const buy = (n: string, at: Date, amount: number) =>
      db.prisma.purchase.create({
        data: { externalId: `${n}-${at.toISOString()}`, customerId: id(n), purchasedAt: at, amount },
      });
    const p1 = await buy("t1", day(3), 100);
    await buy("t2", day(10), 50);
    await buy("t2", day(-5), 30); // before the window
    await buy("t4", day(31), 20); // after the window
    await buy("c1", day(29), 40);
    await buy("x1", day(2), 500); // excluded: never counted
    const issue = await db.prisma.offerIssue.create({
      data: { code: "CODE1", customerId: id("t1"), offerId: offer.id, campaignId: cid, expiresAt: day(30) },
    });
    await db.prisma.redemption.create({
      data: { offerIssueId: issue.id, customerId: id("t1"), purchaseId: p1.id, redeemedAt: day(3) },
    });

    const result = await campaignReport(db, cid, { now: day(40), defaultGrossMargin: 0.3, seed: 5 });
    if (!result.ok) throw new Error("report failed");
    const r = result.value;
    expect(r.window).toEqual({ from: START, to: day(30), complete: true });
    expect(r.overall.treatment).toMatchObject({
      customers: 4,
      retained: 2,
      retentionRate: 0.5,
      revenue: 150,
      revenuePerCustomer: 37.5,
    });
    expect(r.overall.control).toMatchObject({
      customers: 2,
      retained: 1,
      retentionRate: 0.5,
      revenue: 40,
      revenuePerCustomer: 20,
    });
    expect(r.overall.retentionLift.estimate).toBe(0);
    expect(r.overall.incrementalRevenue).toBeCloseTo(70, 9); // (37.5 - 20) x 4
    expect(r.overall.incrementalMargin).toBeCloseTo(21, 9); // x 0.3
    expect(r.overall).toMatchObject({ redemptions: 1, cost: 10 });
    expect(r.overall.roi).toBeCloseTo(6, 9); // (150 - 20 x 4 - 10) / 10
    expect(r.overall.revenuePerCustomerLift.estimate).toBeCloseTo(17.5, 9);
    expect(r.overall.revenuePerCustomerLift.low).toBeLessThan(17.5);
    expect(r.overall.revenuePerCustomerLift.high).toBeGreaterThan(17.5);

    expect(r.byRiskBand.high!.treatment).toMatchObject({ customers: 2, retained: 2, revenue: 150 });
    expect(r.byRiskBand.high!.roi).toBeCloseTo(6, 9); // (150 - 40 x 2 - 10) / 10
    expect(r.byRiskBand.medium!.roi).toBeNull(); // nothing spent
    expect(r.byRiskBand.medium!.incrementalRevenue).toBe(0);

    // NPV: monthly margin 21 x 30.4375 / 30, fading by 0.8, discounted at 10% a year, minus 10
    const monthly = (21 * 30.4375) / 30;
    const rate = 1.1 ** (1 / 12) - 1;
    let expected = -10;
    for (let t = 1; t <= 12; t++) expected += (monthly * 0.8 ** (t - 1)) / (1 + rate) ** t;
    expect(r.value.npv).toBeCloseTo(expected, 6);
    expect(r.value.paybackMonths).toBeCloseTo(10 / (monthly / (1 + rate)), 6);
    expect(formatCampaignReport(r).join("\n")).toContain("ROI 6.00");
  });

  it("words a campaign with nobody in it as n/a, never NaN", async () => {
    await upsertOffers(db, [{ key: "o10", cost: 10, saveProbability: 0.2 }]);
    const created = await createCampaign(db, { name: "empty", offerKeys: ["o10"], startsAt: START }, { now: START });
    if (!created.ok) throw new Error("create failed");
    const result = await campaignReport(db, created.value.id, { now: day(5), defaultGrossMargin: 0.3 });
    if (!result.ok) throw new Error("report failed");
    const text = formatCampaignReport(result.value).join("\n");
    expect(text).toContain("realised n/a [95% CI n/a, n/a]");
    expect(text).not.toContain("NaN");
  });

  it("reports not_found for an unknown campaign", async () => {
    expect(await campaignReport(db, 4242, { now: START, defaultGrossMargin: 0.3 })).toEqual({
      ok: false,
      error: { type: "not_found", campaignId: 4242 },
    });
  });
});
