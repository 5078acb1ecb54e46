import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cdnowCalibration, readCdnow } from "../../../test/helpers/cdnow";
import { bgnbdExpectedPurchases } from "./bgnbd";
import { clv, fitGammaGamma, ggExpectedSpend } from "./gamma-gamma";
import { sharedDataFile } from "../../../test/helpers/shared-data";

const sampleFile = sharedDataFile("CDNOW_sample.txt");
const bgnbd = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const gg = { p: 6.25, q: 3.74, gamma: 15.44 };

describe("Gamma-Gamma", () => {
  it("expected spend is the credibility-weighted mean of population and own mean", () => {
    const population = (gg.gamma * gg.p) / (gg.q - 1);
    expect(ggExpectedSpend(gg, 0, 0)).toBeCloseTo(population, 12);
    const x = 4;
    const m = 50;
    const weight = (gg.p * x) / (gg.p * x + gg.q - 1);
    expect(ggExpectedSpend(gg, x, m)).toBeCloseTo(weight * m + (1 - weight) * population, 10);
    // More transactions pull the estimate towards the customer's own mean.
    expect(Math.abs(ggExpectedSpend(gg, 20, m) - m)).toBeLessThan(Math.abs(ggExpectedSpend(gg, 2, m) - m));
  });

  it("CLV is purchases × spend × margin, and discounting lowers it", () => {
    const input = { bgnbd, gg, x: 3, tx: 20, T: 30, m: 40, horizon: 52, margin: 0.3 };
    const plain = clv(input);
    expect(plain).toBeCloseTo(bgnbdExpectedPurchases(bgnbd, 52, 3, 20, 30) * ggExpectedSpend(gg, 3, 40) * 0.3, 10);
    const discounted = clv({ ...input, discountRatePerPeriod: 0.01 });
    expect(discounted).toBeLessThan(plain);
    expect(discounted).toBeGreaterThan(plain / Math.pow(1.01, 52));
  });

  it("ignores records without repeat purchases or spend and refuses an empty set", () => {
    expect(() => fitGammaGamma([{ x: 0, m: 10 }])).toThrow(/no repeat buyers/);
  });

  it.skipIf(!existsSync(sampleFile))(
    `reproduces Fader & Hardie's p, q, γ on CDNOW_sample within 1% (needs ${sampleFile})`,
    async () => {
      const repeat = cdnowCalibration(await readCdnow(sampleFile)).filter((c) => c.x > 0);
      const { params } = fitGammaGamma(repeat.map((c) => ({ x: c.x, m: c.meanRepeatSpend })));
      for (const key of ["p", "q", "gamma"] as const)
        expect(Math.abs(params[key] / gg[key] - 1), key).toBeLessThan(0.01);
    },
  );
});
