// Scores every customer as of a date: features (SQL, in keyset batches) -> the active churn
// model -> churn probability, P(alive), expected purchases and spend, CLV, RFM segment, risk
// band and reasons -> one `score_runs` row and one `scores` row per customer, written in bulk.
import type { Logger } from "pino";
import type { Config } from "../config/config";
import type { Database } from "../db/client";
import { applyChurnModel, expectedSpend, fitLatentModels, latentQuantities, type ChurnModelParams } from "./churn-model";
import { computeFeatures, countCustomers, discoverAttributes, featureBatches, type CustomerFeatures } from "./features";
import { featureNames } from "./feature-vector";
import { bgnbdExpectedPurchases } from "./models/bgnbd";
import { heuristicContributions, rankReasons, topReasons } from "./reasons";
import { quintileScores, rfmSegment, riskBand, type RiskBand, type Segment } from "./segments";
import { activeChurnModel, trainChurnModel } from "./training";

export interface ScoreProgress {
  phase: "features" | "writing";
  done: number;
  total: number;
}

export interface ScoreOptions {
  asOf: Date;
  config: Config["analytics"];
  log: Logger;
  now?: () => Date;
  onProgress?: (progress: ScoreProgress) => void;
  /** Train a model first when none is active (default true); otherwise fall back to BG/NBD. */
  trainIfMissing?: boolean;
  batchSize?: number;
}

export interface ScoreRunSummary {
  runId: number;
  modelId: number | null;
  /** "logistic" with a trained model; "bgnbd-fallback" when none could be trained. */
  method: "logistic" | "bgnbd-fallback";
  customers: number;
  riskBands: Record<RiskBand, number>;
  segments: Partial<Record<Segment, number>>;
  durationMs: number;
  /** featuresMs includes modelMs (the model, BG/NBD and reasons in JavaScript). */
  timings: { featuresMs: number; modelMs: number; writeMs: number };
}

/** What a run keeps per customer until the population-wide RFM quintiles are known. */
interface Columns {
  customerId: number[];
  churn: number[];
  /** NaN where there is no value (written as NULL). */
  pAlive: number[];
  expectedPurchases: number[];
  expectedSpend: number[];
  clv: number[];
  /** The reasons as JSON, already escaped for COPY. */
  reasons: string[];
  recencyDays: (number | null)[];
  frequency: number[];
  monetary: (number | null)[];
  tenureDays: number[];
}

// COPY text format: tab-separated, \N for null, backslashes doubled. JSON has no raw tabs or
// newlines, so doubling its backslashes is all the escaping reasons need.
const copyNumber = (v: number) => (Number.isFinite(v) ? String(v) : "\\N");
const copyJson = (v: unknown) => {
  const json = JSON.stringify(v);
  return json.includes("\\") ? json.replace(/\\/g, "\\\\") : json;
};
const COPY_SCORES = `COPY scores (run_id, customer_id, model_id, as_of, churn_probability, risk_band, p_alive, expected_purchases, expected_spend, clv,
                    reasons, recency_score, frequency_score, monetary_score, segment) FROM STDIN`;
/** Customers scored between two turns of the event loop. */
const YIELD_EVERY = 2_000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Rows per COPY chunk (and per COPY statement on PGlite, which loads one blob at a time). */
const WRITE_BATCH = 20_000;

/**
 * Scores every customer as of `asOf` with the active churn model (training one first if none
 * exists and `trainIfMissing`; if training is impossible, falls back to BG/NBD: churn
 * probability = P(no purchase over the horizon) ~ exp(-expected purchases), and says so in the
 * log and the summary). Writes one `score_runs` row and a `scores` row per customer.
 */
export async function scoreAll(db: Database, options: ScoreOptions): Promise<ScoreRunSummary> {
  const started = performance.now();
  const { asOf, config, log } = options;
  const now = options.now ?? (() => new Date());
  let model = await activeChurnModel(db);
  if (!model && options.trainIfMissing !== false) {
    const trained = await trainChurnModel(db, { asOf, horizonDays: config.churnHorizonDays, log, now });
    if (trained.ok) model = await activeChurnModel(db);
    else log.warn({ reason: trained.error.message }, "no churn model could be trained; scoring with BG/NBD alone");
  }
  const params: ChurnModelParams | null = model?.params ?? null;
  let fallback: Pick<ChurnModelParams, "bgnbd" | "gammaGamma" | "attributeSpec"> | null = null;
  if (!params) {
    const attributeSpec = await discoverAttributes(db);
    const { rows } = await computeFeatures(db, { asOf, attributeSpec: [] });
    fallback = rows.some((r) => r.recencyDays !== null) ? { ...fitLatentModels(rows), attributeSpec } : null;
    log.warn("scoring without a trained churn model: churn probability from BG/NBD expected purchases");
  }
  const spec = params?.attributeSpec ?? fallback?.attributeSpec ?? [];
  const names = featureNames(spec);
  const attributeNames = spec.map((s) => s.name);
  const total = await countCustomers(db);

  const run = await db.prisma.scoreRun.create({ data: { asOf, modelId: model?.id ?? null, startedAt: now() } });
  const cols: Columns = { customerId: [], churn: [], pAlive: [], expectedPurchases: [], expectedSpend: [], clv: [], reasons: [], recencyDays: [], frequency: [], monetary: [], tenureDays: [] };
  const horizon = config.churnHorizonDays;
  const bg = params?.bgnbd ?? fallback?.bgnbd ?? null;
  const gg = params?.gammaGamma ?? fallback?.gammaGamma ?? null;
  const score = (f: CustomerFeatures) => {
    let churn: number;
    let pAlive = Number.NaN;
    let expectedPurchases = 0;
    let reasons;
    if (params) {
      const applied = applyChurnModel(params, f);
      churn = applied.churnProbability;
      pAlive = applied.latent.pAlive;
      expectedPurchases = f.recencyDays === null ? 0 : applied.latent.expectedPurchases;
      reasons = rankReasons(f, names, applied.contributions, attributeNames);
    } else if (bg) {
      const latent = latentQuantities(bg, f, horizon);
      pAlive = latent.pAlive;
      expectedPurchases = f.recencyDays === null ? 0 : latent.expectedPurchases;
      churn = f.recencyDays === null ? 1 : Math.exp(-latent.expectedPurchases);
      reasons = topReasons(f, heuristicContributions(f, pAlive), attributeNames);
    } else {
      churn = 1;
      reasons = topReasons(f, heuristicContributions(f, 0), attributeNames);
    }
    const clvPurchases = bg && f.recencyDays !== null ? bgnbdExpectedPurchases(bg, config.clvHorizonDays, f.x, f.tx, Math.max(f.T, f.tx)) : 0;
    const spend = expectedSpend(gg, f);
    const margin = f.marginShare ?? config.defaultGrossMargin;
    const clv = clvPurchases * spend * margin;
    cols.customerId.push(f.customerId);
    cols.churn.push(Math.min(1, Math.max(0, churn)));
    cols.pAlive.push(pAlive);
    cols.expectedPurchases.push(expectedPurchases);
    cols.expectedSpend.push(spend);
    cols.clv.push(Number.isFinite(clv) ? clv : 0);
    cols.reasons.push(copyJson(reasons));
    cols.recencyDays.push(f.recencyDays);
    cols.frequency.push(f.purchaseCount);
    cols.monetary.push(f.recencyDays === null ? null : f.monetaryTotal);
    cols.tenureDays.push(f.tenureDays);
  };
  let modelMs = 0;
  for await (const batch of featureBatches(db, { asOf, attributeSpec: spec, batchSize: options.batchSize })) {
    for (let from = 0; from < batch.length; from += YIELD_EVERY) {
      const t = performance.now();
      const to = Math.min(batch.length, from + YIELD_EVERY);
      for (let i = from; i < to; i++) score(batch[i]!);
      modelMs += performance.now() - t;
      // Let the driver read the next batch's rows meanwhile: a server blocks on a full socket.
      if (to < batch.length) await yieldToEventLoop();
    }
    options.onProgress?.({ phase: "features", done: cols.customerId.length, total });
  }
  const featuresMs = Math.round(performance.now() - started);

  // segmentPopulation's rule, on the columns as they are (no per-customer objects).
  const rScores = quintileScores(cols.recencyDays, false);
  const fScores = quintileScores(cols.frequency);
  const mScores = quintileScores(cols.monetary);
  const segments = rScores.map((r, i): Segment => (cols.recencyDays[i] === null ? (cols.tenureDays[i]! <= 90 ? "New" : "Lost") : rfmSegment(r, fScores[i]!)));
  const writeStarted = performance.now();
  const n = cols.customerId.length;
  let written = 0;
  const runPrefix = `${run.id}\t`;
  const modelAndDate = `\t${model?.id ?? "\\N"}\t${asOf.toISOString()}\t`;
  // COPY in chunks of complete lines: a server parses them while the next chunk is built.
  function* chunks(from: number, to: number): Generator<string> {
    for (let start = from; start < to; start += WRITE_BATCH) {
      const end = Math.min(to, start + WRITE_BATCH);
      let text = "";
      for (let i = start; i < end; i++) {
        const churn = cols.churn[i]!;
        text +=
          runPrefix + cols.customerId[i] + modelAndDate + churn + "\t" + riskBand(churn, config) + "\t" + copyNumber(cols.pAlive[i]!) + "\t" +
          copyNumber(cols.expectedPurchases[i]!) + "\t" + copyNumber(cols.expectedSpend[i]!) + "\t" + copyNumber(cols.clv[i]!) + "\t" + cols.reasons[i] + "\t" +
          rScores[i]! + "\t" + fScores[i]! + "\t" + mScores[i]! + "\t" + segments[i]! + "\n";
      }
      yield text;
      written += end - start;
      options.onProgress?.({ phase: "writing", done: written, total: n });
    }
  }
  // A server takes two COPY streams at once (one backend each), which keeps both cores busy.
  if (db.target.kind === "postgres") {
    const half = Math.ceil(n / 2 / WRITE_BATCH) * WRITE_BATCH;
    await Promise.all([db.copyFrom(COPY_SCORES, chunks(0, Math.min(n, half))), half < n ? db.copyFrom(COPY_SCORES, chunks(half, n)) : null]);
  }
  else for (let from = 0; from < n; from += WRITE_BATCH) await db.copyFrom(COPY_SCORES, chunks(from, Math.min(n, from + WRITE_BATCH)));
  const writeMs = Math.round(performance.now() - writeStarted);

  const bands = cols.churn.map((p) => riskBand(p, config));
  const riskBands: Record<RiskBand, number> = { low: 0, medium: 0, high: 0 };
  for (const b of bands) riskBands[b]++;
  const segmentCounts: Partial<Record<Segment, number>> = {};
  for (const s of segments) segmentCounts[s] = (segmentCounts[s] ?? 0) + 1;
  const method = params ? "logistic" : "bgnbd-fallback";
  const durationMs = Math.round(performance.now() - started);
  await db.prisma.scoreRun.update({
    where: { id: run.id },
    data: { customers: n, durationMs, finishedAt: now(), stats: { method, riskBands, segments: segmentCounts, featuresMs, modelMs: Math.round(modelMs), writeMs } },
  });
  log.info({ runId: run.id, customers: n, method, durationMs }, "scoring finished");
  return { runId: run.id, modelId: model?.id ?? null, method, customers: n, riskBands, segments: segmentCounts, durationMs, timings: { featuresMs, modelMs: Math.round(modelMs), writeMs } };
}

/** The newest finished scoring run (its `scores` rows are the current scores), or null. */
export async function currentScoreRunId(db: Database): Promise<number | null> {
  const row = await db.prisma.scoreRun.findFirst({ where: { finishedAt: { not: null } }, orderBy: { id: "desc" }, select: { id: true } });
  return row?.id ?? null;
}
