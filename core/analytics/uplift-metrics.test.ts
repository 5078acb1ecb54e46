import { describe, expect, it } from "vitest";
import { qiniAucScore, qiniCurve, upliftAtK } from "./uplift-metrics";

// Six rows by descending score: treated responder, treated non-responder, control responder,
// control non-responder, treated responder, control non-responder.
const outcome = [1, 0, 1, 0, 1, 0];
const treatment = [1, 1, 0, 0, 1, 0];
const score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];

describe("qiniCurve", () => {
  it("counts treated responders minus control responders scaled to the treated count, by hand", () => {
    // After row 3: 1 treated responder, 1 control responder, 2 treated, 1 control: 1 - 1·2/1 = -1.
    // After row 5: 2 - 1·3/2 = 0.5; after row 6: 2 - 1·3/3 = 1.
    expect(qiniCurve(outcome, score, treatment)).toEqual({ x: [0, 1, 2, 3, 4, 5, 6], y: [0, 1, 1, -1, 0, 0.5, 1] });
  });

  it("puts one point at the end of each group of tied scores", () => {
    const tied = [1, 1, 0, 0, 0, 0];
    // Rows 0-1 together (2 treated, 1 responder, no control), then rows 2-5.
    expect(qiniCurve(outcome, tied, treatment)).toEqual({ x: [0, 2, 6], y: [0, 1, 1] });
  });
});

describe("qiniAucScore", () => {
  it("matches scikit-uplift's normalisation on a hand-computed example", () => {
    // Model curve area (trapezoids): 0.5 + 1 + 0 - 0.5 + 0.25 + 0.75 = 2; random line to (6, 1): 3.
    // Best ordering (treated responders, then the rest, control responder last):
    // (0,0) (2,2) (5,2) (6,1), area 2 + 6 + 1.5 = 9.5. Qini = (2 - 3) / (9.5 - 3) = -2/13.
    expect(qiniAucScore(outcome, score, treatment)).toBeCloseTo(-2 / 13, 12);
  });

  it("is 1 for the best ordering and negative for its reverse", () => {
    const best = outcome.map((y, i) => (treatment[i] === 1 ? y : -y));
    expect(qiniAucScore(outcome, best, treatment)).toBeCloseTo(1, 12);
    expect(
      qiniAucScore(
        outcome,
        best.map((v) => -v),
        treatment,
      ),
    ).toBeLessThan(0);
  });

  it("is NaN when there is nothing to rank, and rejects labels that are not 0/1", () => {
    expect(qiniAucScore([0, 0, 0, 0], [1, 2, 3, 4], [1, 0, 1, 0])).toBeNaN();
    expect(() => qiniAucScore([2, 0], [1, 2], [1, 0])).toThrow(/outcome 0 is not 0 or 1/);
  });
});

describe("upliftAtK", () => {
  it("compares treated and control response rates in the top share", () => {
    // Top 3: treated rows 0 and 1 (1 of 2 respond), control row 2 (responds): 0.5 - 1 = -0.5.
    expect(upliftAtK(outcome, score, treatment, 0.5)).toBeCloseTo(-0.5, 12);
    // Everyone: treated 2/3, control 1/3.
    expect(upliftAtK(outcome, score, treatment, 1)).toBeCloseTo(1 / 3, 12);
    // The top row alone has no control row.
    expect(upliftAtK(outcome, score, treatment, 0.2)).toBeNaN();
  });
});
