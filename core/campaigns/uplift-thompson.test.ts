import { describe, expect, it } from "vitest";
import { seededRandom } from "../analytics/models/evaluation";
import { chooseOffersThompson, offerPosteriors, type OfferArm, type OfferResult } from "./uplift-thompson";

// Every offer starts from the same hand-typed save probability; the truth differs by segment.
const offers: OfferArm[] = [
  { offerId: "discount10", priorProbability: 0.1 },
  { offerId: "free-shipping", priorProbability: 0.1 },
  { offerId: "loyalty-points", priorProbability: 0.1 },
];
const truth: Record<string, Record<string, number>> = {
  new: { discount10: 0.06, "free-shipping": 0.24, "loyalty-points": 0.12 },
  loyal: { discount10: 0.3, "free-shipping": 0.1, "loyalty-points": 0.16 },
};
const bestOf: Record<string, string> = { new: "free-shipping", loyal: "discount10" };

describe("chooseOffersThompson", () => {
  it("settles on each segment's best offer in a stationary simulation", () => {
    const outcome = seededRandom(99);
    const results = new Map<string, OfferResult>();
    const customers = Array.from({ length: 60 }, (_, i) => ({
      customerId: `c${i}`,
      segment: i % 2 ? "new" : "loyal",
    }));
    const bestShare: number[] = [];
    for (let round = 0; round < 40; round++) {
      const choices = chooseOffersThompson(customers, offers, [...results.values()], { seed: 1000 + round });
      let best = 0;
      choices.forEach((choice, i) => {
        const segment = customers[i]!.segment;
        if (choice.offerId === bestOf[segment]) best++;
        const key = `${segment}/${choice.offerId}`;
        const r = results.get(key) ?? { segment, offerId: choice.offerId, retained: 0, notRetained: 0 };
        if (outcome() < truth[segment]![choice.offerId]!) r.retained++;
        else r.notRetained++;
        results.set(key, r);
      });
      bestShare.push(best / customers.length);
    }
    // The first round knows only the priors (a third each); the last rounds pick the best offer.
    expect(bestShare[0]).toBeLessThan(0.6);
    const lastFive = bestShare.slice(-5).reduce((s, v) => s + v, 0) / 5;
    expect(lastFive).toBeGreaterThan(0.85);
    for (const segment of ["new", "loyal"]) {
      const posteriors = offerPosteriors(segment, offers, [...results.values()]);
      const mean = (id: string) => {
        const p = posteriors.find((q) => q.offerId === id)!;
        return p.alpha / (p.alpha + p.beta);
      };
      const best = bestOf[segment]!;
      for (const o of offers) if (o.offerId !== best) expect(mean(best)).toBeGreaterThan(mean(o.offerId));
    }
  });

  it("follows the hand-typed prior before any result, and is reproducible with its seed", () => {
    const priors: OfferArm[] = [
      { offerId: "weak", priorProbability: 0.02 },
      { offerId: "strong", priorProbability: 0.4 },
    ];
    const customers = Array.from({ length: 200 }, (_, i) => ({ customerId: `c${i}`, segment: "all" }));
    const first = chooseOffersThompson(customers, priors, [], { seed: 7, priorWeight: 50 });
    expect(first.filter((c) => c.offerId === "strong").length).toBeGreaterThan(190);
    expect(chooseOffersThompson(customers, priors, [], { seed: 7, priorWeight: 50 })).toEqual(first);
  });

  it("weighs a draw by the offer's value and cost", () => {
    const priced: OfferArm[] = [
      { offerId: "voucher", priorProbability: 0.3, value: 100, cost: 40 },
      { offerId: "message", priorProbability: 0.2, value: 100, cost: 0 },
    ];
    const customers = Array.from({ length: 100 }, (_, i) => ({ customerId: `c${i}`, segment: "all" }));
    const choices = chooseOffersThompson(customers, priced, [], { seed: 3, priorWeight: 200 });
    expect(choices.filter((c) => c.offerId === "message").length).toBeGreaterThan(95);
  });

  it("counts results into the right segment's posterior and rejects bad input", () => {
    const results: OfferResult[] = [
      { segment: "a", offerId: "discount10", retained: 3, notRetained: 7 },
      { segment: "b", offerId: "discount10", retained: 50, notRetained: 0 },
    ];
    expect(offerPosteriors("a", offers, results)[0]).toEqual({ offerId: "discount10", alpha: 4, beta: 16 });
    expect(() => offerPosteriors("a", [{ offerId: "x", priorProbability: 1 }], [])).toThrow(
      /offer "x" has prior probability 1; it must be between 0 and 1/,
    );
    expect(() =>
      offerPosteriors("a", offers, [{ segment: "a", offerId: "discount10", retained: -1, notRetained: 0 }]),
    ).toThrow(/retained of offer "discount10" in segment "a" must be a whole number >= 0, got -1/);
    expect(() => chooseOffersThompson([], [], [], { seed: 1 })).toThrow(/no offers/);
  });
});
