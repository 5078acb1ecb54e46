import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateCdnow } from "./evaluate-cdnow";

const sampleFile = path.resolve(import.meta.dirname, "../../../shared/data/CDNOW_sample.txt");

describe("evaluateCdnow", () => {
  it.skipIf(!existsSync(sampleFile))(`evaluates CDNOW_sample end to end (needs ${sampleFile})`, async () => {
    const r = await evaluateCdnow(sampleFile);
    expect(r.customers).toBe(2357);
    expect(r.churnRate).toBeGreaterThan(0.6);
    expect(r.churnRate).toBeLessThan(0.8);
    expect(Math.abs(r.bgnbd.r / 0.243 - 1)).toBeLessThan(0.01);
    expect(Math.abs(r.gammaGamma.p / 6.25 - 1)).toBeLessThan(0.01);
    expect(r.aucFolds).toHaveLength(5);
    // Out-of-sample: well above chance, and not suspiciously perfect.
    expect(r.auc).toBeGreaterThan(0.74);
    expect(r.auc).toBeLessThan(0.85);
    expect(r.bgnbdAuc).toBeGreaterThan(0.7);
    expect(r.holdoutPurchases.actual).toBeGreaterThan(0);
    expect(r.holdoutPurchases.predicted / r.holdoutPurchases.actual).toBeGreaterThan(0.7);
    expect(r.calibration).toHaveLength(10);
    expect(r.calibration.reduce((s, b) => s + b.count, 0)).toBe(2357);
    // The deciles rise with the predicted probability and agree with what happened.
    expect(r.calibration[9]!.observedRate).toBeGreaterThan(r.calibration[0]!.observedRate + 0.4);
    for (const b of r.calibration) expect(Math.abs(b.meanPredicted - b.observedRate)).toBeLessThan(0.1);
  });
});
