// Scores every customer as of a date: features (SQL, in keyset batches) -> the active churn
// model -> churn probability, P(alive), expected purchases and spend, CLV, RFM segment, risk
// band and reasons -> one `score_runs` row and one `scores` row per customer, written in bulk.
import type { Logger } from "pino";
import type { Config } from "../config/config";
import type { Database } from "../db/client";
import { modelFeatureNames, fitLatentModels, type ChurnModelParams } from "./churn-model";
import { computeFeatures, countCustomers, discoverAttributes, FEATURE_BATCH, packedFeatureBatches } from "./features";
import { featureNames } from "./feature-vector";
import { BinaryCopyWriter } from "../db/copy-binary";
import {
  BANDS,
  customerScorer,
  scoreBatch,
  ScoreColumns,
  utf8At,
  type ScoredBatch,
  type ScoringContext,
} from "./score-batch";
import { ScoringPool } from "./score-pool";
import { orderStatistic, quintileScoreColumn, rfmSegment, SEGMENTS, type RiskBand, type Segment } from "./segments";
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
  /** Customers per feature batch (default 50,000). */
  batchSize?: number;
  /** Worker threads for the per-customer JavaScript (default `config.scoringWorkers`; 0: the main thread). */
  workers?: number;
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
  /** Worker threads the per-customer JavaScript ran on (0: the main thread). */
  workers: number;
  /** featuresMs includes modelMs (decoding each row, the model, BG/NBD and reasons in JavaScript). */
  timings: { featuresMs: number; modelMs: number; writeMs: number };
}

/**
 * The median mean order value of each segment's customers with purchases (NaN for a segment
 * without any), from one typed array grouped segment by segment.
 */
export function segmentMedians(segmentIndex: Uint8Array, values: Float64Array, segments: number): Float64Array {
  const counts = new Uint32Array(segments + 1);
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) counts[segmentIndex[i]! + 1]!++;
  for (let k = 1; k <= segments; k++) counts[k]! += counts[k - 1]!;
  const grouped = new Float64Array(counts[segments]!);
  const at = counts.slice(0, segments);
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) grouped[at[segmentIndex[i]!]!++] = values[i]!;
  const medians = new Float64Array(segments).fill(Number.NaN);
  for (let k = 0; k < segments; k++) {
    const part = grouped.subarray(counts[k]!, counts[k + 1]!);
    const n = part.length;
    if (n === 0) continue;
    // The middle one (odd n), or the two middle ones: the upper, then the largest below it.
    const upper = orderStatistic(part, n >> 1);
    medians[k] = n % 2 ? upper : (orderStatistic(part, (n >> 1) - 1, n >> 1) + upper) / 2;
  }
  return medians;
}

const COPY_SCORES = `COPY scores (run_id, customer_id, model_id, as_of, churn_probability, risk_band, p_alive, expected_purchases, expected_spend, clv,
                    reasons, recency_score, frequency_score, monetary_score, segment) FROM STDIN WITH (FORMAT binary)`;
const SCORE_FIELDS = 15;
/** A score row's bytes besides its three texts: 15 length words, 6 ints, 6 eight-byte values. */
const SCORE_FIXED_BYTES = 15 * 4 + 6 * 4 + 6 * 8;
/** Rows per COPY statement on PGlite, which loads one blob at a time. */
const WRITE_BATCH = 20_000;
/** Feature batches a run must have for workers to score them (100,000 customers by default). */
const WORKERS_FROM_BATCHES = 2;
/** Customers scored between two turns of the event loop. */
const YIELD_EVERY = 2_000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Where each segment sits in SEGMENTS: by R x 6 + F for {@link rfmSegment}, and the two without purchases. */
const RFM_SEGMENT = Uint8Array.from({ length: 36 }, (_, k) =>
  k % 6 && k >= 6 ? SEGMENTS.indexOf(rfmSegment(Math.floor(k / 6), k % 6)) : 0,
);
const NEW_SEGMENT = SEGMENTS.indexOf("New");
const LOST_SEGMENT = SEGMENTS.indexOf("Lost");

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
  // The features start (settling the totals, the batch bounds, the first batches' queries) while
  // the customers are counted: on a server, two backends at once.
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? FEATURE_BATCH));
  const features = packedFeatureBatches(db, { asOf, attributeSpec: spec, batchSize });
  const firstBatch = features.next();
  firstBatch.catch(() => undefined); // awaited below; a failure surfaces there
  let total: number;
  try {
    total = await countCustomers(db);
  } catch (error) {
    void firstBatch.then(() => features.return(undefined)).catch(() => undefined);
    throw error;
  }

  const run = await db.prisma.scoreRun.create({ data: { asOf, modelId: model?.id ?? null, startedAt: now() } });
  const context: ScoringContext = {
    params,
    fallback: fallback && { bgnbd: fallback.bgnbd, gammaGamma: fallback.gammaGamma },
    spec,
    names: params ? modelFeatureNames(params) : featureNames(spec),
    config,
  };
  // Workers pay off once there is JavaScript to overlap with the next batch's read: each takes a
  // few tenths of a second of CPU to start (loading the sources through tsx). On PGlite, whose
  // engine shares the main thread, 100,000 customers (two batches) on an idle 2-core machine
  // scored in 2.64 s and 2.84 s with one worker against 2.99 s and 3.02 s without (medians of
  // three, alternating); on a machine busy with other work (load 8-11) one worker made it slower,
  // 8.26 s against 6.58 s, as a start that waits for a core is not paid back.
  const workers =
    total >= WORKERS_FROM_BATCHES * batchSize ? Math.max(0, Math.floor(options.workers ?? config.scoringWorkers)) : 0;
  const pool = workers > 0 ? new ScoringPool(workers, context) : null;
  // The batches' columns are kept as they come (from a worker: transferred, not copied), not
  // gathered into columns for the whole run: copying a million customers' columns and reasons
  // cost the main thread about 0.8 s, most of it faulting in fresh memory.
  const scored: ScoredBatch[] = [];
  let n = 0;
  let modelMs = 0;
  const keep = (batch: ScoredBatch) => {
    scored.push(batch);
    n += batch.length;
    modelMs += batch.ms;
    options.onProgress?.({ phase: "features", done: n, total });
  };
  try {
    const batches = (async function* () {
      try {
        for (let next = await firstBatch; !next.done; next = await features.next()) yield next.value;
      } finally {
        await features.return(undefined);
      }
    })();
    if (pool) {
      // Each batch goes to a worker as it arrives; results are taken in order, keeping every
      // worker up to two batches ahead, while the database computes the next batches' features.
      // After the last one, this thread scores the batches no worker has started yet.
      const pending: Promise<ScoredBatch>[] = [];
      for await (const batch of batches) {
        const result = pool.score(batch);
        result.catch(() => undefined); // awaited in order below; a failure surfaces there
        pending.push(result);
        while (pending.length > pool.size + 1) keep(await pending.shift()!);
      }
      const scoreRow = customerScorer(context);
      pool.scoreUnstartedHere((rows) => scoreBatch(scoreRow, rows).batch);
      while (pending.length) keep(await pending.shift()!);
    } else {
      const scoreRow = customerScorer(context);
      for await (const batch of batches) {
        const cols = new ScoreColumns(batch.length);
        let ms = 0;
        for (let from = 0; from < batch.length; from += YIELD_EVERY) {
          const t = performance.now();
          const to = Math.min(batch.length, from + YIELD_EVERY);
          for (let i = from; i < to; i++) scoreRow(batch[i]!, cols);
          ms += performance.now() - t;
          // Let the driver read the next batch's rows meanwhile: a server blocks on a full socket.
          if (to < batch.length) await yieldToEventLoop();
        }
        keep(cols.export(ms).batch);
      }
    }
  } finally {
    await pool?.close();
  }
  const riskBands: Record<RiskBand, number> = { low: 0, medium: 0, high: 0 };
  for (const batch of scored) for (let j = 0; j < batch.length; j++) riskBands[BANDS[batch.band[j]!]!]++;
  const featuresMs = Math.round(performance.now() - started);

  // segmentPopulation's rule, on the columns as they are (no per-customer objects).
  const column = (name: "recencyDays" | "frequency" | "monetary" | "averageOrder") => {
    const values = new Float64Array(n);
    let at = 0;
    for (const batch of scored) {
      values.set(batch[name], at);
      at += batch.length;
    }
    return values;
  };
  const rScores = quintileScoreColumn(column("recencyDays"), false);
  const fScores = quintileScoreColumn(column("frequency"));
  const mScores = quintileScoreColumn(column("monetary"));
  const segmentIndex = new Uint8Array(n);
  for (let i = 0, k = 0; k < scored.length; k++) {
    const { recencyDays, tenureDays, length } = scored[k]!;
    for (let j = 0; j < length; j++, i++)
      segmentIndex[i] = Number.isNaN(recencyDays[j])
        ? tenureDays[j]! <= 90
          ? NEW_SEGMENT
          : LOST_SEGMENT
        : RFM_SEGMENT[rScores[i]! * 6 + fScores[i]!]!;
  }
  const medianOrder = segmentMedians(segmentIndex, column("averageOrder"), SEGMENTS.length);
  const writeStarted = performance.now();
  let written = 0;
  // Binary COPY: the server stores the numbers as sent instead of parsing their text.
  // The fields every row repeats, and the few bands and segments, are encoded once.
  const runField = BinaryCopyWriter.field((w) => w.int4(run.id));
  const modelField = BinaryCopyWriter.field((w) => w.int4(model?.id ?? null));
  const asOfField = BinaryCopyWriter.field((w) => w.timestamp(asOf));
  const bandFields = BANDS.map((band) => BinaryCopyWriter.field((w) => w.text(band)));
  const segmentFields = SEGMENTS.map((segment) => BinaryCopyWriter.field((w) => w.text(segment)));
  function* rows(from: number, to: number): Generator<Buffer> {
    const out = new BinaryCopyWriter();
    // The batch holding customer `from`, and its place there.
    let k = 0;
    let j = from;
    while (k < scored.length && j >= scored[k]!.length) j -= scored[k++]!.length;
    for (let i = from; i < to; i++, j++) {
      while (j >= scored[k]!.length) {
        k++;
        j = 0;
      }
      const b = scored[k]!;
      const band = bandFields[b.band[j]!]!;
      const segment = segmentFields[segmentIndex[i]!]!;
      // "Small orders" only where the customer's mean order is below their segment's median.
      const reasons =
        b.smallOrders[j] && !(b.averageOrder[j]! < medianOrder[segmentIndex[i]!]!)
          ? utf8At(b.reasonsWithoutSmallOrders, j)
          : utf8At(b.reasons, j);
      out.row(SCORE_FIELDS, SCORE_FIXED_BYTES + reasons.length + band.length + segment.length);
      out.encoded(runField).int4(b.customerId[j]!).encoded(modelField).encoded(asOfField);
      out
        .float8(b.churn[j]!)
        .encoded(band)
        .float8(b.pAlive[j]!)
        .float8(b.expectedPurchases[j]!)
        .float8(b.expectedSpend[j]!)
        .float8(b.clv[j]!);
      out.bytes(reasons).int4(rScores[i]!).int4(fScores[i]!).int4(mScores[i]!).encoded(segment);
      if (out.full) yield out.take();
      if (++written % WRITE_BATCH === 0) options.onProgress?.({ phase: "writing", done: written, total: n });
    }
    yield out.end();
  }
  // A server takes two COPY streams at once (one backend each), which keeps both cores busy.
  if (db.target.kind === "postgres") {
    const half = Math.ceil(n / 2);
    await Promise.all([
      db.copyFrom(COPY_SCORES, rows(0, half)),
      half < n ? db.copyFrom(COPY_SCORES, rows(half, n)) : null,
    ]);
  } else
    for (let from = 0; from < n; from += WRITE_BATCH)
      await db.copyFrom(COPY_SCORES, rows(from, Math.min(n, from + WRITE_BATCH)));
  options.onProgress?.({ phase: "writing", done: n, total: n });
  const writeMs = Math.round(performance.now() - writeStarted);

  const perSegment = new Uint32Array(SEGMENTS.length);
  for (let i = 0; i < n; i++) perSegment[segmentIndex[i]!]!++;
  const segmentCounts: Partial<Record<Segment, number>> = {};
  for (let k = 0; k < SEGMENTS.length; k++) if (perSegment[k]) segmentCounts[SEGMENTS[k]!] = perSegment[k];
  const method = params ? "logistic" : "bgnbd-fallback";
  const durationMs = Math.round(performance.now() - started);
  await db.prisma.scoreRun.update({
    where: { id: run.id },
    data: {
      customers: n,
      durationMs,
      finishedAt: now(),
      stats: { method, workers, riskBands, segments: segmentCounts, featuresMs, modelMs: Math.round(modelMs), writeMs },
    },
  });
  log.info({ runId: run.id, customers: n, method, durationMs }, "scoring finished");
  return {
    runId: run.id,
    modelId: model?.id ?? null,
    method,
    customers: n,
    workers,
    riskBands,
    segments: segmentCounts,
    durationMs,
    timings: { featuresMs, modelMs: Math.round(modelMs), writeMs },
  };
}

/** The newest finished scoring run (its `scores` rows are the current scores), or null. */
export async function currentScoreRunId(db: Database): Promise<number | null> {
  const row = await db.prisma.scoreRun.findFirst({
    where: { finishedAt: { not: null } },
    orderBy: { id: "desc" },
    select: { id: true },
  });
  return row?.id ?? null;
}
