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
import { heuristicContributions, topReasons } from "./reasons";
import { riskBand, segmentPopulation, type RiskBand, type Segment } from "./segments";
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

/** Columns of one run, kept as arrays until the population-wide RFM quintiles are known. */
interface Columns {
  customerId: number[];
  churn: number[];
  pAlive: number[];
  expectedPurchases: number[];
  expectedSpend: number[];
  clv: number[];
  reasons: unknown[];
  recencyDays: (number | null)[];
  frequency: number[];
  monetary: (number | null)[];
  tenureDays: number[];
}

const WRITE_BATCH = 20_000;
const WRITE_CONCURRENCY = 2;

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
  const score = (f: CustomerFeatures) => {
    let churn: number;
    let pAlive: number | null = null;
    let contributions;
    let expectedPurchases = 0;
    const bg = params?.bgnbd ?? fallback?.bgnbd ?? null;
    const gg = params?.gammaGamma ?? fallback?.gammaGamma ?? null;
    if (params) {
      const applied = applyChurnModel(params, names, f);
      churn = applied.churnProbability;
      pAlive = applied.latent.pAlive;
      expectedPurchases = f.recencyDays === null ? 0 : applied.latent.expectedPurchases;
      contributions = applied.contributions;
    } else if (bg) {
      const latent = latentQuantities(bg, f, horizon);
      pAlive = latent.pAlive;
      expectedPurchases = f.recencyDays === null ? 0 : latent.expectedPurchases;
      churn = f.recencyDays === null ? 1 : Math.exp(-latent.expectedPurchases);
      contributions = heuristicContributions(f, pAlive);
    } else {
      churn = 1;
      contributions = heuristicContributions(f, 0);
    }
    const clvPurchases = bg && f.recencyDays !== null ? bgnbdExpectedPurchases(bg, config.clvHorizonDays, f.x, f.tx, Math.max(f.T, f.tx)) : 0;
    const spend = expectedSpend(gg, f);
    const margin = f.marginShare ?? config.defaultGrossMargin;
    cols.customerId.push(f.customerId);
    cols.churn.push(Math.min(1, Math.max(0, churn)));
    cols.pAlive.push(pAlive ?? NaN);
    cols.expectedPurchases.push(expectedPurchases);
    cols.expectedSpend.push(spend);
    cols.clv.push(Number.isFinite(clvPurchases * spend * margin) ? clvPurchases * spend * margin : 0);
    cols.reasons.push(topReasons(f, contributions, attributeNames));
    cols.recencyDays.push(f.recencyDays);
    cols.frequency.push(f.purchaseCount);
    cols.monetary.push(f.recencyDays === null ? null : f.monetaryTotal);
    cols.tenureDays.push(f.tenureDays);
  };
  let modelMs = 0;
  for await (const batch of featureBatches(db, { asOf, attributeSpec: spec, batchSize: options.batchSize })) {
    const t = performance.now();
    for (const f of batch) score(f);
    modelMs += performance.now() - t;
    options.onProgress?.({ phase: "features", done: cols.customerId.length, total });
  }
  const featuresMs = Math.round(performance.now() - started);

  const segments = segmentPopulation(cols.customerId.map((_, i) => ({ recencyDays: cols.recencyDays[i]!, frequency: cols.frequency[i]!, monetary: cols.monetary[i]!, tenureDays: cols.tenureDays[i]! })));
  const bands = cols.churn.map((p) => riskBand(p, config));
  const writeStarted = performance.now();
  const n = cols.customerId.length;
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  // One JSON document per batch (parsed by jsonb_to_recordset in C) beats building a dozen
  // array literals in JavaScript; on a server two batches are written at once.
  const writeBatch = async (from: number) => {
    const to = Math.min(n, from + WRITE_BATCH);
    const rows = [];
    for (let i = from; i < to; i++) {
      const s = segments[i]!;
      rows.push({
        c: cols.customerId[i],
        p: cols.churn[i],
        b: bands[i],
        a: finite(cols.pAlive[i]!),
        e: finite(cols.expectedPurchases[i]!),
        s: finite(cols.expectedSpend[i]!),
        v: finite(cols.clv[i]!),
        r: s.recencyScore,
        f: s.frequencyScore,
        m: s.monetaryScore,
        g: s.segment,
        j: cols.reasons[i],
      });
    }
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO scores (run_id, customer_id, model_id, as_of, churn_probability, risk_band, p_alive, expected_purchases, expected_spend, clv,
                           recency_score, frequency_score, monetary_score, segment, reasons)
       SELECT $1, c, $2, $3::timestamp, p, b, a, e, s, v, r, f, m, g, j
         FROM jsonb_to_recordset($4::jsonb) AS t(c int, p float8, b text, a float8, e float8, s float8, v float8, r int, f int, m int, g text, j jsonb)`,
      run.id,
      model?.id ?? null,
      asOf.toISOString(),
      JSON.stringify(rows),
    );
    written += to - from;
    options.onProgress?.({ phase: "writing", done: written, total: n });
  };
  let written = 0;
  let next = 0;
  const writers = Array.from({ length: db.target.kind === "postgres" ? WRITE_CONCURRENCY : 1 }, async () => {
    while (next < n) {
      const from = next;
      next += WRITE_BATCH;
      await writeBatch(from);
    }
  });
  await Promise.all(writers);
  const writeMs = Math.round(performance.now() - writeStarted);

  const riskBands: Record<RiskBand, number> = { low: 0, medium: 0, high: 0 };
  for (const b of bands) riskBands[b]++;
  const segmentCounts: Partial<Record<Segment, number>> = {};
  for (const s of segments) segmentCounts[s.segment] = (segmentCounts[s.segment] ?? 0) + 1;
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
