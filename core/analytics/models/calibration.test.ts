import { describe, expect, it } from "vitest";
import { applyPlatt, fitPlatt } from "./calibration";
import { chooseModel } from "./candidates";
import { seededRandom } from "./evaluation";
import { gainsCurve, liftByDecile } from "./ranking";

describe("Platt calibration", () => {
  it("recovers the slope and intercept of over-confident log-odds", () => {
    const random = seededRandom(1);
    const z: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const score = random() * 8 - 4;
      z.push(score);
      // The true log-odds are half the score, shifted down by 1.
      y.push(random() < 1 / (1 + Math.exp(-(0.5 * score - 1))) ? 1 : 0);
    }
    const c = fitPlatt(z, y);
    expect(c.a).toBeCloseTo(0.5, 1);
    expect(c.b).toBeCloseTo(-1, 1);
    expect(applyPlatt(c, 2)).toBeCloseTo(0.5, 1);
    expect(() => fitPlatt([1, 2], [1, 1])).toThrow(/both labels/);
  });
});

describe("ranking figures", () => {
  it("gives a perfect ranking all churners in the first deciles, and a reversed one none", () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i < 20 ? 1 : 0));
    const perfect = labels.map((l, i) => l * 10 - i / 1000);
    const lift = liftByDecile(perfect, labels);
    expect(lift[0]).toMatchObject({ decile: 1, customers: 10, positiveRate: 1, lift: 5 });
    expect(lift[2]!.positiveRate).toBe(0);
    const gains = gainsCurve(perfect, labels, 0.1);
    expect(gains[0]).toEqual({ contacted: 0, captured: 0 });
    expect(gains[2]).toEqual({ contacted: 0.2, captured: 1 });
    const reversed = gainsCurve(
      perfect.map((s) => -s),
      labels,
      0.1,
    );
    expect(reversed[8]!.captured).toBe(0);
    expect(reversed[10]!.captured).toBe(1);
  });
});

describe("choosing a model", () => {
  it("takes the simpler model unless the other is clearly better", () => {
    expect(chooseModel({ logistic: 0.8, gbt: 0.801 })).toBe("logistic");
    expect(chooseModel({ logistic: 0.8, gbt: 0.85 })).toBe("gbt");
    expect(chooseModel({ logistic: 0.8 })).toBe("logistic");
    expect(() => chooseModel({})).toThrow(/no candidate/);
  });
});
