import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/config";
import type { ChurnModelParams } from "./churn-model";
import { customerScorer, scoreBatch, ScoreColumns, utf8At, type ScoredBatch, type ScoringContext } from "./score-batch";
import { ScoringPool } from "./score-pool";

const config = loadConfig({}).analytics;
// Packed feature rows (features.ts): id, purchase count and days, first/last purchase and sign-up
// in seconds before the cut-off, total, spend in the last 90 and previous 90 days, margin, margin
// base, items, NPS, CSAT, complaints (90 days, all), offers (received, declined).
const rows = [
  "1,3,3,8640000,864000,9000000,120.5,40,30,,,3,,,0,0,0,0",
  "2,,,,,2592000,,,,,,,,,0,0,0,0",
  "3,12,10,31104000,2592000,31104000,999.99,80.25,120,250,999.99,14,3,,1,2,1,1",
];
const context: ScoringContext = {
  params: null,
  fallback: { bgnbd: { r: 0.8, alpha: 40, a: 0.7, b: 2.5 }, gammaGamma: null },
  spec: [],
  names: [],
  config,
};

describe("scoring workers", () => {
  it("give the columns the main thread gives", async () => {
    const own = new ScoreColumns(rows.length);
    const scoreRow = customerScorer(context);
    for (const row of rows) scoreRow(row, own);
    const pool = new ScoringPool(2, context);
    try {
      const [a, b] = await Promise.all([pool.score(rows.slice(0, 2)), pool.score(rows.slice(2))]);
      // The two batches one after the other, as the run reads them.
      const pooled = (
        column: "customerId" | "churn" | "pAlive" | "expectedPurchases" | "expectedSpend" | "clv" | "recencyDays",
      ) => [a, b].flatMap((batch) => Array.from(batch[column]));
      const reasons = [a, b].flatMap((batch) =>
        Array.from({ length: batch.length }, (_, j) => Buffer.from(utf8At(batch.reasons, j)).toString()),
      );
      expect(a.length + b.length).toBe(3);
      expect(pooled("customerId")).toEqual([1, 2, 3]);
      for (const column of ["churn", "pAlive", "expectedPurchases", "expectedSpend", "clv", "recencyDays"] as const)
        expect(pooled(column), column).toEqual(Array.from(own[column].subarray(0, 3)));
      for (let i = 0; i < 3; i++) expect(reasons[i]).toBe(own.reasons.get(i).toString());
    } finally {
      await pool.close();
    }
  });

  it("leave the batches they have not started to the main thread, which gives the same columns", async () => {
    const scoreRow = customerScorer(context);
    const columns = (batch: ScoredBatch) => ({
      ids: Array.from(batch.customerId),
      churn: Array.from(batch.churn),
      clv: Array.from(batch.clv),
      reasons: Buffer.from(batch.reasons.bytes).toString(),
    });
    const expected = [rows.slice(0, 1), rows.slice(1, 2), rows.slice(2)].map((part) =>
      columns(scoreBatch(scoreRow, part).batch),
    );
    const pool = new ScoringPool(1, context);
    try {
      // Sent before the worker has even loaded its code: none started, all scored here.
      const results = [rows.slice(0, 1), rows.slice(1, 2), rows.slice(2)].map((part) => pool.score(part));
      let here = 0;
      pool.scoreUnstartedHere((part) => {
        here++;
        return scoreBatch(scoreRow, part).batch;
      });
      expect(here).toBe(3);
      expect((await Promise.all(results)).map(columns)).toEqual(expected);
      // The worker skips the three it received late and goes on with the next batch.
      expect(columns(await pool.score(rows.slice(2)))).toEqual(expected[2]);
      pool.scoreUnstartedHere(() => {
        throw new Error("every batch was started");
      });
    } finally {
      await pool.close();
    }
  });

  it("reject the batches of a worker that failed, and every later one", async () => {
    // A model with no parameters at all: the worker throws on the first customer.
    const pool = new ScoringPool(1, { ...context, params: {} as ChurnModelParams });
    try {
      await expect(pool.score(rows)).rejects.toThrow(TypeError);
      await expect(pool.score(rows)).rejects.toThrow();
    } finally {
      await pool.close();
    }
  });
});
