import { describe, expect, it } from "vitest";
import { orderStatistic, quintileScores, rfmSegment, riskBand, segmentPopulation, SEGMENTS } from "./segments";

describe("quintile scores", () => {
  it("splits ten distinct values into five equal groups", () => {
    expect(quintileScores([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  });
  it("reverses the order for recency (fewer days is better)", () => {
    expect(quintileScores([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], false)).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
  });
  it("gives ties the same score and missing values the lowest", () => {
    expect(quintileScores([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])).toEqual([1, 1, 1, 1, 1, 1, 4, 4, 5, 5]);
    expect(quintileScores([null, 10, 20, null, 30])).toEqual([1, 3, 4, 1, 5]);
  });
  it("agrees with the definition, 1 + floor(5 x share below), on random data with ties and gaps", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (const n of [1, 2, 3, 7, 50, 333, 1000]) {
      const values = Array.from({ length: n }, () =>
        random() < 0.15 ? null : random() < 0.1 ? Number.NaN : Math.floor(random() * 12),
      );
      for (const higherIsBetter of [true, false]) {
        const expected = values.map((v) => {
          if (v === null || !Number.isFinite(v)) return 1;
          const below = values.filter(
            (w) => w === null || !Number.isFinite(w) || (higherIsBetter ? w < v : w > v),
          ).length;
          return Math.min(5, 1 + Math.floor((5 * below) / n));
        });
        expect(quintileScores(values, higherIsBetter)).toEqual(expected);
      }
    }
  });
});

describe("order statistics", () => {
  it("find the value a sort puts at each place, with many ties and a shrinking range", () => {
    let seed = 11;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (const n of [1, 2, 5, 64, 1000, 5000])
      for (const spread of [3, 1000, 1e9]) {
        const values = Float64Array.from({ length: n }, () => Math.floor(random() * spread) - spread / 2);
        const sorted = values.slice().sort();
        const work = values.slice();
        // Downwards, each search within the places below the last one, as the quintiles search.
        let end = n;
        for (const k of [n - 1, Math.floor((3 * n) / 4), Math.floor(n / 2), Math.floor(n / 5), 0]) {
          if (k >= end) continue;
          expect(orderStatistic(work, k, end)).toBe(sorted[k]);
          end = k + 1;
        }
        expect(work.slice().sort()).toEqual(sorted);
      }
  });
});

describe("RFM segment map", () => {
  it("maps the corners and the middle", () => {
    expect(rfmSegment(5, 5)).toBe("Champions");
    expect(rfmSegment(5, 1)).toBe("New");
    expect(rfmSegment(4, 1)).toBe("Promising");
    expect(rfmSegment(4, 4)).toBe("Loyal");
    expect(rfmSegment(5, 3)).toBe("Potential loyalist");
    expect(rfmSegment(3, 3)).toBe("Need attention");
    expect(rfmSegment(3, 2)).toBe("About to sleep");
    expect(rfmSegment(2, 4)).toBe("At risk");
    expect(rfmSegment(1, 5)).toBe("Can't lose them");
    expect(rfmSegment(2, 2)).toBe("Hibernating");
    expect(rfmSegment(1, 1)).toBe("Lost");
  });
  it("covers every R x F cell with a known segment, and uses all eleven", () => {
    const seen = new Set<string>();
    for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) seen.add(rfmSegment(r, f));
    expect([...seen].every((s) => (SEGMENTS as readonly string[]).includes(s))).toBe(true);
    expect(seen.size).toBe(SEGMENTS.length);
  });
  it("segments a population: recent frequent buyers are champions, long-gone one-offs lost", () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({
      recencyDays: i * 30,
      frequency: 20 - i,
      monetary: 100 * (20 - i),
      tenureDays: 800,
    }));
    rows.push({
      recencyDays: null as unknown as number,
      frequency: 0,
      monetary: null as unknown as number,
      tenureDays: 10,
    });
    const out = segmentPopulation(rows);
    expect(out[0]).toMatchObject({ recencyScore: 5, frequencyScore: 5, monetaryScore: 5, segment: "Champions" });
    expect(out[19]!.segment).toBe("Lost");
    expect(out[20]!.segment).toBe("New");
  });
});

describe("risk band", () => {
  const t = { riskHigh: 0.7, riskMedium: 0.4 };
  it("uses inclusive thresholds", () => {
    expect(riskBand(0.7, t)).toBe("high");
    expect(riskBand(0.69, t)).toBe("medium");
    expect(riskBand(0.4, t)).toBe("medium");
    expect(riskBand(0.1, t)).toBe("low");
  });
});
