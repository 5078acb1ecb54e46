// Derivative-free minimisation for the small maximum-likelihood fits (BG/NBD has 4 parameters,
// Gamma-Gamma 3). Nelder-Mead with restarts: the restart from the best vertex escapes the
// premature collapse the plain method is known for on curved valleys.
//
// Some data have no maximum: customers who buy like clockwork (BG/NBD's Poisson limit, r and α
// growing together) or spend the same every time (Gamma-Gamma's p without bound). The simplex then
// drifts along a ridge where the likelihood no longer changes in double precision while its
// vertices still differ, so the spread test never passes and every budget was spent to the last
// evaluation (20,000 instead of about 1,000, for the same likelihood). A run whose best value has
// not improved by the tolerance over many iterations is over.

export interface MinimizeOptions {
  /** Stop when the simplex's function values differ by less than this. Default 1e-10. */
  tolerance?: number;
  /** Maximum function evaluations over all restarts. Default 20,000. */
  maxEvaluations?: number;
  /** Size of the initial simplex around the start point. Default 0.5. */
  initialStep?: number;
  /** Restarts from the best point found. Default 3. */
  restarts?: number;
  /**
   * A run (the first or a restart) ends when its best value improved by less than `tolerance` over
   * this many iterations times (parameters + 1). Default 50: far more than a run that still makes
   * progress goes without improving its best vertex.
   */
  stallIterations?: number;
}

export interface MinimizeResult {
  x: number[];
  value: number;
  evaluations: number;
  iterations: number;
}

/**
 * Minimises `f` from `start` by Nelder-Mead (standard coefficients), restarting from the best
 * vertex. Non-finite values of `f` are treated as +Infinity, so a bad region is simply avoided.
 */
export function minimize(f: (x: number[]) => number, start: number[], options: MinimizeOptions = {}): MinimizeResult {
  const tolerance = options.tolerance ?? 1e-10;
  const maxEvaluations = options.maxEvaluations ?? 20_000;
  const restarts = options.restarts ?? 3;
  const stall = (options.stallIterations ?? 50) * (start.length + 1);
  let evaluations = 0;
  let iterations = 0;
  const value = (x: number[]): number => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let best = { x: start.slice(), value: value(start) };
  for (let round = 0; round <= restarts && evaluations < maxEvaluations; round++) {
    const step = (options.initialStep ?? 0.5) / (round + 1);
    const result = nelderMead(value, best.x, step, tolerance, maxEvaluations - evaluations, stall);
    iterations += result.iterations;
    const improved = best.value - result.value;
    if (result.value <= best.value) best = { x: result.x, value: result.value };
    if (round > 0 && Math.abs(improved) < tolerance) break;
  }
  return { x: best.x, value: best.value, evaluations, iterations };
}

function nelderMead(
  f: (x: number[]) => number,
  start: number[],
  step: number,
  tolerance: number,
  budget: number,
  stall: number,
): { x: number[]; value: number; iterations: number } {
  const n = start.length;
  let used = 0;
  const evaluate = (x: number[]): number => {
    used++;
    return f(x);
  };
  const points: { x: number[]; v: number }[] = [{ x: start.slice(), v: evaluate(start) }];
  for (let i = 0; i < n; i++) {
    const x = start.slice();
    x[i] = (x[i] ?? 0) + step;
    points.push({ x, v: evaluate(x) });
  }
  const combine = (a: number[], b: number[], t: number): number[] => a.map((ai, i) => ai + t * ((b[i] ?? 0) - ai));
  let iterations = 0;
  let bestBefore = Number.POSITIVE_INFINITY; // the best value `stall` iterations ago
  while (used < budget) {
    iterations++;
    points.sort((p, q) => p.v - q.v);
    const bestPoint = points[0]!;
    const worst = points[n]!;
    const scale = tolerance * (1 + Math.abs(bestPoint.v));
    if (Math.abs(worst.v - bestPoint.v) <= scale) break;
    if (iterations % stall === 0) {
      if (bestBefore - bestPoint.v <= scale) break;
      bestBefore = bestPoint.v;
    }
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j]! += points[i]!.x[j]! / n;
    const reflected = combine(centroid, worst.x, -1);
    const vr = evaluate(reflected);
    if (vr < bestPoint.v) {
      const expanded = combine(centroid, worst.x, -2);
      const ve = evaluate(expanded);
      points[n] = ve < vr ? { x: expanded, v: ve } : { x: reflected, v: vr };
    } else if (vr < points[n - 1]!.v) {
      points[n] = { x: reflected, v: vr };
    } else {
      const outside = vr < worst.v;
      const contracted = combine(centroid, worst.x, outside ? -0.5 : 0.5);
      const vc = evaluate(contracted);
      if (vc < (outside ? vr : worst.v)) {
        points[n] = { x: contracted, v: vc };
      } else {
        for (let i = 1; i <= n; i++) {
          const x = combine(bestPoint.x, points[i]!.x, 0.5);
          points[i] = { x, v: evaluate(x) };
        }
      }
    }
  }
  points.sort((p, q) => p.v - q.v);
  return { x: points[0]!.x, value: points[0]!.v, iterations };
}
