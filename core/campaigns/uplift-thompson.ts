// Offer choice that learns from results: Thompson sampling over Beta posteriors of each offer's
// retention rate, one posterior per segment x offer. Before any result, an offer's posterior is
// its hand-typed save probability, held with the weight of `priorWeight` pseudo-customers; each
// retained or lost treated customer then moves it. Pure and seeded: the same inputs and seed give
// the same choices.
import { Random } from "../demo/random";

export interface OfferArm {
  offerId: string;
  /** Hand-typed probability that the offer retains a customer (the prior mean), in (0, 1). */
  priorProbability: number;
  /** Value of a retained customer minus the offer's cost is `value * p - cost`; default 1 and 0. */
  value?: number;
  cost?: number;
}

/** Results of one offer in one segment: treated customers retained, and not retained. */
export interface OfferResult {
  segment: string;
  offerId: string;
  retained: number;
  notRetained: number;
}

export interface BetaPosterior {
  offerId: string;
  alpha: number;
  beta: number;
}

export interface ThompsonOptions {
  /** Weight of the hand-typed prior, in pseudo-customers. Default 10. */
  priorWeight?: number;
  seed: number;
}

function validate(offers: readonly OfferArm[], results: readonly OfferResult[], priorWeight: number): void {
  if (offers.length === 0) throw new RangeError("thompson: no offers to choose from");
  if (!(priorWeight > 0 && Number.isFinite(priorWeight)))
    throw new RangeError(`thompson: priorWeight must be a positive number, got ${priorWeight}`);
  const ids = new Set<string>();
  for (const o of offers) {
    if (ids.has(o.offerId)) throw new RangeError(`thompson: offer "${o.offerId}" is listed twice`);
    ids.add(o.offerId);
    if (!(o.priorProbability > 0 && o.priorProbability < 1))
      throw new RangeError(
        `thompson: offer "${o.offerId}" has prior probability ${o.priorProbability}; it must be between 0 and 1`,
      );
  }
  for (const r of results) {
    for (const [name, n] of [
      ["retained", r.retained],
      ["notRetained", r.notRetained],
    ] as const) {
      if (!(Number.isInteger(n) && n >= 0))
        throw new RangeError(
          `thompson: ${name} of offer "${r.offerId}" in segment "${r.segment}" must be a whole number >= 0, got ${n}`,
        );
    }
  }
}

/**
 * The Beta posterior of each offer in `segment`: Beta(w·p + retained, w·(1 − p) + not retained),
 * where p is the offer's hand-typed probability and w the prior weight. Results of other segments
 * and of offers no longer listed are ignored.
 */
export function offerPosteriors(
  segment: string,
  offers: readonly OfferArm[],
  results: readonly OfferResult[],
  priorWeight = 10,
): BetaPosterior[] {
  validate(offers, results, priorWeight);
  return offers.map((o) => {
    let alpha = priorWeight * o.priorProbability;
    let beta = priorWeight * (1 - o.priorProbability);
    for (const r of results) {
      if (r.segment !== segment || r.offerId !== o.offerId) continue;
      alpha += r.retained;
      beta += r.notRetained;
    }
    return { offerId: o.offerId, alpha, beta };
  });
}

/** One draw from Beta(alpha, beta) as the ratio of two Gamma draws. */
function sampleBeta(random: Random, alpha: number, beta: number): number {
  const x = random.gamma(alpha, 1);
  const y = random.gamma(beta, 1);
  return x + y === 0 ? alpha / (alpha + beta) : x / (x + y);
}

export interface OfferChoice {
  customerId: string;
  offerId: string;
}

/**
 * Chooses an offer for each customer: draws each offer's retention rate from its segment's
 * posterior and takes the offer with the highest `value · draw − cost` (ties to the first
 * listed). Customers are served in the order given, from one generator seeded with `seed`.
 */
export function chooseOffersThompson(
  customers: readonly { customerId: string; segment: string }[],
  offers: readonly OfferArm[],
  results: readonly OfferResult[],
  options: ThompsonOptions,
): OfferChoice[] {
  const priorWeight = options.priorWeight ?? 10;
  validate(offers, results, priorWeight);
  const random = new Random(options.seed);
  const bySegment = new Map<string, BetaPosterior[]>();
  return customers.map(({ customerId, segment }) => {
    let posteriors = bySegment.get(segment);
    if (!posteriors) {
      posteriors = offerPosteriors(segment, offers, results, priorWeight);
      bySegment.set(segment, posteriors);
    }
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    posteriors.forEach((p, i) => {
      const offer = offers[i]!;
      const score = (offer.value ?? 1) * sampleBeta(random, p.alpha, p.beta) - (offer.cost ?? 0);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    });
    return { customerId, offerId: offers[best]!.offerId };
  });
}

/**
 * One Thompson draw of each offer's retention rate per segment (in the order of `offers`): the
 * batch form of `chooseOffersThompson`, for a planner that scores every customer of a segment
 * against the same draw. Segments are drawn in the order given, from one generator seeded with `seed`.
 */
export function drawOfferRates(
  segments: readonly string[],
  offers: readonly OfferArm[] | ((segment: string) => readonly OfferArm[]),
  results: readonly OfferResult[],
  options: ThompsonOptions,
): Map<string, number[]> {
  const priorWeight = options.priorWeight ?? 10;
  const random = new Random(options.seed);
  const draws = new Map<string, number[]>();
  for (const segment of segments) {
    const arms = typeof offers === "function" ? offers(segment) : offers;
    const posteriors = offerPosteriors(segment, arms, results, priorWeight);
    draws.set(
      segment,
      posteriors.map((p) => sampleBeta(random, p.alpha, p.beta)),
    );
  }
  return draws;
}
