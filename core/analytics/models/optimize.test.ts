import { describe, expect, it } from "vitest";
import { bgnbdLogLikelihood, type BgNbdParams, type RfmSummary } from "./bgnbd";
import { minimize } from "./optimize";

/** Mean negative BG/NBD log-likelihood over the logs of (r, α, a, b), as fitBgNbd minimises it. */
function bgnbdObjective(data: RfmSummary[]): (v: number[]) => number {
  return (v) => {
    const params: BgNbdParams = { r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) };
    return -bgnbdLogLikelihood(params, data) / data.length;
  };
}

describe("minimize (Nelder-Mead with restarts)", () => {
  it("finds an interior minimum to the tolerance", () => {
    const rosenbrock = (x: number[]) => (1 - x[0]!) ** 2 + 100 * (x[1]! - x[0]! ** 2) ** 2;
    const result = minimize(rosenbrock, [-1.2, 1], { tolerance: 1e-14 });
    expect(result.x[0]).toBeCloseTo(1, 4);
    expect(result.x[1]).toBeCloseTo(1, 4);
    expect(result.evaluations).toBeLessThan(20_000);
  });

  it("stops on a ridge without a maximum, where the budget was spent before, at the same value", () => {
    // Every customer buys every 10 days: the counts are less dispersed than any gamma mixture
    // allows, so the likelihood keeps rising towards the Poisson limit and has no maximum.
    const clockwork: RfmSummary[] = Array.from({ length: 200 }, (_, i) => ({ x: 30, tx: 300, T: 300 + (i % 7) }));
    const f = bgnbdObjective(clockwork);
    const start = [0, 0, 0, 0];
    const spent = minimize(f, start, { tolerance: 1e-12, stallIterations: Number.POSITIVE_INFINITY });
    const stopped = minimize(f, start, { tolerance: 1e-12 });
    expect(spent.evaluations).toBeGreaterThanOrEqual(20_000);
    expect(stopped.evaluations).toBeLessThan(5_000);
    expect(Math.abs(stopped.value - spent.value)).toBeLessThan(1e-8 * Math.abs(spent.value));
  });

  it("never stops early while the best value still improves", () => {
    // A long narrow valley: progress is slow but steady, so every window improves the best value.
    const valley = (x: number[]) => (x[0]! - 50) ** 2 / 1e4 + 1e4 * (x[1]! - x[0]! / 10) ** 2;
    const result = minimize(valley, [0, 0], { tolerance: 1e-14, maxEvaluations: 200_000 });
    expect(result.value).toBeLessThan(1e-8);
    expect(result.x[0]).toBeCloseTo(50, 2);
  });
});
