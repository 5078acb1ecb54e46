import { describe, expect, it } from "vitest";
import {
  bootstrapMeanDiff,
  campaignRoi,
  normalCdf,
  npv,
  paybackPeriods,
  projectMonthlyMargin,
  quantileSorted,
  twoProportionLift,
} from "./stats";

describe("campaign statistics against hand-computed cases", () => {
  it("normal CDF at known points", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655254, 6);
  });

  it("two-proportion lift: 60/200 vs 40/200", () => {
    // p1 = 0.3, p2 = 0.2, se = sqrt(.3*.7/200 + .2*.8/200) = sqrt(0.00185) = 0.0430116
    const r = twoProportionLift(60, 200, 40, 200);
    expect(r.estimate).toBeCloseTo(0.1, 12);
    expect(r.standardError).toBeCloseTo(0.0430116, 6);
    expect(r.low).toBeCloseTo(0.1 - 1.959964 * 0.0430116, 5); // 0.015700
    expect(r.high).toBeCloseTo(0.1843, 5);
    // pooled p = 0.25, se0 = sqrt(.25*.75*(2/200)) = 0.0433013, z = 2.3094, p = 0.02092
    expect(r.pValue).toBeCloseTo(0.02092, 4);
  });

  it("two-proportion lift with no difference and with an empty group", () => {
    const same = twoProportionLift(10, 100, 10, 100);
    expect(same.estimate).toBe(0);
    expect(same.pValue).toBeCloseTo(1, 6);
    expect(Number.isNaN(twoProportionLift(1, 10, 0, 0).estimate)).toBe(true);
  });

  it("quantiles interpolate like R type 7", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
  });

  it("bootstrap: degenerate groups give an exact interval; same seed, same interval", () => {
    const exact = bootstrapMeanDiff([5, 5, 5], [2, 2], { iterations: 200, seed: 7 });
    expect(exact).toEqual({ estimate: 3, low: 3, high: 3 });
    const a = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 100 : 0)); // mean 25, sd ~43.3
    const b = Array.from({ length: 400 }, (_, i) => (i % 5 === 0 ? 100 : 0)); // mean 20, sd 40
    const r1 = bootstrapMeanDiff(a, b, { iterations: 2000, seed: 3 });
    const r2 = bootstrapMeanDiff(a, b, { iterations: 2000, seed: 3 });
    expect(r1).toEqual(r2);
    expect(r1.estimate).toBeCloseTo(5, 12);
    // normal-theory half width: 1.96 * sqrt(43.30^2/400 + 40^2/400) = 5.78; bootstrap within 10%
    expect((r1.high - r1.low) / 2).toBeGreaterThan(5.2);
    expect((r1.high - r1.low) / 2).toBeLessThan(6.4);
  });

  it("ROI scales the control revenue to the treated group's size", () => {
    // treated 1000 customers, 12,000 revenue; control 100 customers, 1,000 revenue -> 10,000 scaled
    // (12,000 - 10,000 - 500) / 500 = 3
    expect(
      campaignRoi({
        treatedRevenue: 12_000,
        treatedCustomers: 1000,
        controlRevenue: 1000,
        controlCustomers: 100,
        cost: 500,
      }),
    ).toBe(3);
    expect(
      campaignRoi({ treatedRevenue: 1, treatedCustomers: 1, controlRevenue: 1, controlCustomers: 1, cost: 0 }),
    ).toBeNull();
  });

  it("NPV and discounted payback", () => {
    // -100 + 60/1.1 + 60/1.21 = 4.1322
    expect(npv(100, [60, 60], 0.1)).toBeCloseTo(4.132231, 6);
    // discounted 54.545, 49.587: after month 1, 45.455 left; 45.455/49.587 = 0.9167 -> 1.9167
    expect(paybackPeriods(100, [60, 60], 0.1)).toBeCloseTo(1.916667, 5);
    expect(paybackPeriods(100, [10, 10], 0)).toBeNull();
    expect(paybackPeriods(0, [], 0)).toBe(0);
  });

  it("projects a fading monthly margin", () => {
    const m = projectMonthlyMargin(60, 60.875, 3, 0.5); // 60 over two months -> 30 a month
    expect(m[0]).toBeCloseTo(30, 10);
    expect(m[1]).toBeCloseTo(15, 10);
    expect(m[2]).toBeCloseTo(7.5, 10);
  });
});
