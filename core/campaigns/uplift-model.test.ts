import { describe, expect, it } from "vitest";
import { qiniAucScore } from "../analytics/uplift-metrics";
import { Random } from "../demo/random";
import { cellUplift, estimateUpliftCells, heldOutQini, type ExperimentOutcome } from "./uplift-model";

// Generated experiments with known effects per segment x risk band.
const TRUTH: { segment: string; riskBand: string; base: number; effect: number; n: number }[] = [
  { segment: "At risk", riskBand: "medium", base: 0.3, effect: 0.3, n: 3000 },
  { segment: "At risk", riskBand: "high", base: 0.1, effect: 0.1, n: 3000 },
  { segment: "Lost", riskBand: "medium", base: 0.2, effect: 0, n: 3000 },
  { segment: "Lost", riskBand: "high", base: 0.3, effect: -0.15, n: 3000 },
];

function generate(seed: number, cells = TRUTH, campaignId = 1): ExperimentOutcome[] {
  const random = new Random(seed);
  const out: ExperimentOutcome[] = [];
  for (const c of cells) {
    for (let i = 0; i < c.n; i++) {
      const treated = random.chance(0.5);
      out.push({
        campaignId,
        segment: c.segment,
        riskBand: c.riskBand,
        treated,
        retained: random.chance(c.base + (treated ? c.effect : 0)),
      });
    }
  }
  return out;
}

describe("uplift per segment x risk band", () => {
  it("recovers known effects from generated experiments", () => {
    const cells = estimateUpliftCells(generate(7));
    for (const t of TRUTH) expect(Math.abs(cellUplift(cells, t.segment, t.riskBand) - t.effect)).toBeLessThan(0.04);
    // The overall effect is the average of the cells' (equal sizes).
    expect(cells.overall).toBeCloseTo(TRUTH.reduce((s, t) => s + t.effect, 0) / TRUTH.length, 1);
  });

  it("shrinks a thin cell toward its segment's effect, and unseen cells fall back to it", () => {
    const thin = { segment: "Lost", riskBand: "low", base: 0.2, effect: 0.6, n: 12 };
    const cells = estimateUpliftCells(generate(3, [...TRUTH, thin]));
    const raw = (() => {
      const rows = generate(3, [...TRUTH, thin]).filter((o) => o.riskBand === "low");
      const rate = (xs: ExperimentOutcome[]) => xs.filter((o) => o.retained).length / xs.length;
      return rate(rows.filter((o) => o.treated)) - rate(rows.filter((o) => !o.treated));
    })();
    const estimate = cellUplift(cells, "Lost", "low");
    const segment = cells.segments.Lost!;
    // Between the segment's effect and the cell's own difference, much nearer the segment's.
    expect(Math.abs(estimate - segment)).toBeLessThan(Math.abs(raw - segment) / 2);
    expect(cellUplift(cells, "Lost", "unknown band")).toBe(segment);
    expect(cellUplift(cells, "Nobody", "high")).toBe(cells.overall);
  });

  it("ranks held-out customers as well as the true effects do (Qini)", () => {
    const cells = estimateUpliftCells(generate(11));
    const heldOut = generate(12, TRUTH, 2);
    const qini = heldOutQini(cells, heldOut);
    const truth = TRUTH.find.bind(TRUTH);
    const oracle = qiniAucScore(
      heldOut.map((o) => (o.retained ? 1 : 0)),
      heldOut.map((o) => truth((t) => t.segment === o.segment && t.riskBand === o.riskBand)!.effect),
      heldOut.map((o) => (o.treated ? 1 : 0)),
    );
    expect(qini).not.toBeNull();
    expect(qini!).toBeGreaterThan(0.1);
    expect(Math.abs(qini! - oracle)).toBeLessThan(0.01);
  });

  it("counts treated results per segment x offer for the offer choice", () => {
    const outcomes: ExperimentOutcome[] = [
      { campaignId: 1, segment: "A", riskBand: "high", treated: true, retained: true, offerId: 5 },
      { campaignId: 1, segment: "A", riskBand: "high", treated: true, retained: false, offerId: 5 },
      { campaignId: 1, segment: "A", riskBand: "high", treated: false, retained: true, offerId: 5 },
    ];
    expect(estimateUpliftCells(outcomes).offers).toEqual([{ segment: "A", offerId: "5", retained: 1, notRetained: 1 }]);
  });

  it("refuses outcomes without both arms", () => {
    expect(() => estimateUpliftCells(generate(1).filter((o) => o.treated))).toThrow(RangeError);
  });
});
