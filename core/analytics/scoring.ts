// Scores every customer as of a date: features (SQL, in keyset batches) -> the active churn
// model -> churn probability, P(alive), expected purchases and spend, CLV, RFM segment, risk
// band and reasons -> one `score_runs` row and one `scores` row per customer, written in bulk.
import type { Logger } from "pino";
import type { Config } from "../config/config";
import type { Database } from "../db/client";
import {
  applyChurnModel,
  modelFeatureNames,
  expectedSpend,
  fitLatentModels,
  latentQuantities,
  type ChurnModelParams,
} from "./churn-model";
import {
  computeFeatures,
  countCustomers,
  decodeFeatures,
  discoverAttributes,
  packedFeatureBatches,
  type CustomerFeatures,
} from "./features";
import { featureNames } from "./feature-vector";
import { bgnbdExpectedIfAlive } from "./models/bgnbd";
import { heuristicContributions, rankReasons, storedTopReasons } from "./reasons";
import { BinaryCopyWriter, maxUtf8Bytes } from "../db/copy-binary";
import { quintileScores, rfmSegment, riskBand, SEGMENTS, type RiskBand, type Segment } from "./segments";
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
  /** featuresMs includes modelMs (decoding each row, the model, BG/NBD and reasons in JavaScript). */
  timings: { featuresMs: number; modelMs: number; writeMs: number };
}

const BANDS: readonly RiskBand[] = ["low", "medium", "high"];

/** Texts kept as UTF-8 bytes back to back, set in index order (0, 1, 2, ...). */
class Utf8List {
  private bytes: Buffer;
  /** Where each text ends in `bytes` (it starts where the previous one ends). */
  private end: Uint32Array;

  constructor(capacity: number, bytesEach: number) {
    this.end = new Uint32Array(capacity);
    this.bytes = Buffer.allocUnsafe(Math.max(64, capacity * bytesEach));
  }

  set(i: number, text: string): void {
    if (i >= this.end.length) {
      const bigger = new Uint32Array(Math.max(i + 1, this.end.length * 2));
      bigger.set(this.end);
      this.end = bigger;
    }
    const start = i === 0 ? 0 : this.end[i - 1]!;
    if (start + maxUtf8Bytes(text) > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, start + maxUtf8Bytes(text)));
      this.bytes.copy(bigger, 0, 0, start);
      this.bytes = bigger;
    }
    this.end[i] = start + (text.length ? this.bytes.write(text, start, "utf8") : 0);
  }

  get(i: number): Buffer {
    return this.bytes.subarray(i === 0 ? 0 : this.end[i - 1]!, this.end[i]!);
  }
}

/**
 * What a run keeps per customer until the population-wide RFM quintiles are known: typed arrays
 * (NaN where there is no value, written as NULL) and the reasons' JSON bytes back to back. A
 * million customers then leave no million boxed numbers and strings for the garbage collector to
 * copy from one generation to the next (measured: 1.0 of 5.6 s of a profiled PostgreSQL run of
 * 300,000 customers was garbage collection).
 */
class ScoreColumns {
  length = 0;
  customerId!: Int32Array;
  churn!: Float64Array;
  band!: Uint8Array;
  pAlive!: Float64Array;
  expectedPurchases!: Float64Array;
  expectedSpend!: Float64Array;
  clv!: Float64Array;
  recencyDays!: Float64Array;
  frequency!: Float64Array;
  monetary!: Float64Array;
  tenureDays!: Float64Array;
  /** Mean order value (NaN without purchases): "small orders" is judged against the segment's. */
  averageOrder!: Float64Array;
  /** 1 where the reasons include "small orders". */
  smallOrders!: Uint8Array;
  /** The reasons as JSON (stored reasons, `[code, weight, ...values]`, see reasons.ts). */
  readonly reasons: Utf8List;
  /** Where `smallOrders` is 1: the reasons without "small orders" (empty elsewhere). */
  readonly reasonsWithoutSmallOrders: Utf8List;

  constructor(capacity: number) {
    this.allocate(Math.max(1, capacity));
    this.reasons = new Utf8List(this.customerId.length, 64);
    this.reasonsWithoutSmallOrders = new Utf8List(this.customerId.length, 8);
  }

  /** Makes room for one more customer (customers added during the run go beyond the count). */
  next(): number {
    if (this.length === this.customerId.length) this.allocate(this.length * 2);
    return this.length++;
  }

  /** (Re)allocates every column for `capacity` customers, keeping the ones so far. */
  private allocate(capacity: number): void {
    const sized = <T extends Int32Array | Uint8Array | Float64Array>(old: T | undefined, fresh: T): T => {
      if (old) fresh.set(old.subarray(0, this.length));
      return fresh;
    };
    this.customerId = sized(this.customerId, new Int32Array(capacity));
    this.band = sized(this.band, new Uint8Array(capacity));
    this.churn = sized(this.churn, new Float64Array(capacity));
    this.pAlive = sized(this.pAlive, new Float64Array(capacity));
    this.expectedPurchases = sized(this.expectedPurchases, new Float64Array(capacity));
    this.expectedSpend = sized(this.expectedSpend, new Float64Array(capacity));
    this.clv = sized(this.clv, new Float64Array(capacity));
    this.recencyDays = sized(this.recencyDays, new Float64Array(capacity));
    this.frequency = sized(this.frequency, new Float64Array(capacity));
    this.monetary = sized(this.monetary, new Float64Array(capacity));
    this.tenureDays = sized(this.tenureDays, new Float64Array(capacity));
    this.averageOrder = sized(this.averageOrder, new Float64Array(capacity));
    this.smallOrders = sized(this.smallOrders, new Uint8Array(capacity));
  }
}

/**
 * The median mean order value of each segment's customers with purchases (NaN for a segment
 * without any), from one typed array sorted segment by segment.
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
    const part = grouped.subarray(counts[k]!, counts[k + 1]!).sort();
    const n = part.length;
    if (n > 0) medians[k] = n % 2 ? part[(n - 1) / 2]! : (part[n / 2 - 1]! + part[n / 2]!) / 2;
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
/** Customers scored between two turns of the event loop. */
const YIELD_EVERY = 2_000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  const names = params ? modelFeatureNames(params) : featureNames(spec);
  const attributeNames = spec.map((s) => s.name);
  const total = await countCustomers(db);

  const run = await db.prisma.scoreRun.create({ data: { asOf, modelId: model?.id ?? null, startedAt: now() } });
  const cols = new ScoreColumns(total);
  const horizon = config.churnHorizonDays;
  const bg = params?.bgnbd ?? fallback?.bgnbd ?? null;
  const gg = params?.gammaGamma ?? fallback?.gammaGamma ?? null;
  const riskBands: Record<RiskBand, number> = { low: 0, medium: 0, high: 0 };
  // One contributions buffer for every customer: rankReasons reads it before the next customer.
  const contributionBuffer = new Float64Array(names.length);
  const score = (f: CustomerFeatures) => {
    let churn: number;
    let pAlive = Number.NaN;
    let expectedPurchases = 0;
    let reasons;
    let withoutSmallOrders: string | null = null;
    if (params) {
      const applied = applyChurnModel(params, f, contributionBuffer);
      churn = applied.churnProbability;
      pAlive = applied.latent.pAlive;
      expectedPurchases = f.recencyDays === null ? 0 : applied.latent.expectedPurchases;
      reasons = rankReasons(f, names, applied.contributions, attributeNames);
      // Whether the orders are small for the customer's segment is known once every customer
      // is segmented: keep the list without "small orders" beside it for then.
      for (const r of reasons)
        if (r[0] === "small_orders")
          withoutSmallOrders = JSON.stringify(rankReasons(f, names, applied.contributions, attributeNames, 3, r[0]));
    } else if (bg) {
      const latent = latentQuantities(bg, f, horizon);
      pAlive = latent.pAlive;
      expectedPurchases = f.recencyDays === null ? 0 : latent.expectedPurchases;
      churn = f.recencyDays === null ? 1 : Math.exp(-latent.expectedPurchases);
      reasons = storedTopReasons(f, heuristicContributions(f, pAlive), attributeNames);
    } else {
      churn = 1;
      reasons = storedTopReasons(f, heuristicContributions(f, 0), attributeNames);
    }
    const clvPurchases =
      bg && f.recencyDays !== null
        ? bgnbdExpectedIfAlive(bg, config.clvHorizonDays, f.x, Math.max(f.T, f.tx)) * pAlive
        : 0;
    const spend = expectedSpend(gg, f);
    const margin = f.marginShare ?? config.defaultGrossMargin;
    const clv = clvPurchases * spend * margin;
    const i = cols.next();
    cols.customerId[i] = f.customerId;
    churn = Math.min(1, Math.max(0, churn));
    const band = riskBand(churn, config);
    riskBands[band]++;
    cols.churn[i] = churn;
    cols.band[i] = BANDS.indexOf(band);
    cols.pAlive[i] = pAlive;
    cols.expectedPurchases[i] = expectedPurchases;
    cols.expectedSpend[i] = spend;
    cols.clv[i] = Number.isFinite(clv) ? clv : 0;
    cols.reasons.set(i, JSON.stringify(reasons));
    cols.smallOrders[i] = withoutSmallOrders === null ? 0 : 1;
    cols.reasonsWithoutSmallOrders.set(i, withoutSmallOrders ?? "");
    cols.averageOrder[i] = f.monetaryMean ?? Number.NaN;
    cols.recencyDays[i] = f.recencyDays ?? Number.NaN;
    cols.frequency[i] = f.purchaseCount;
    cols.monetary[i] = f.recencyDays === null ? Number.NaN : f.monetaryTotal;
    cols.tenureDays[i] = f.tenureDays;
  };
  let modelMs = 0;
  for await (const batch of packedFeatureBatches(db, { asOf, attributeSpec: spec, batchSize: options.batchSize })) {
    for (let from = 0; from < batch.length; from += YIELD_EVERY) {
      const t = performance.now();
      const to = Math.min(batch.length, from + YIELD_EVERY);
      for (let i = from; i < to; i++) score(decodeFeatures(batch[i]!, spec));
      modelMs += performance.now() - t;
      // Let the driver read the next batch's rows meanwhile: a server blocks on a full socket.
      if (to < batch.length) await yieldToEventLoop();
    }
    options.onProgress?.({ phase: "features", done: cols.length, total });
  }
  const featuresMs = Math.round(performance.now() - started);

  // segmentPopulation's rule, on the columns as they are (no per-customer objects).
  const n = cols.length;
  const rScores = quintileScores(cols.recencyDays.subarray(0, n), false);
  const fScores = quintileScores(cols.frequency.subarray(0, n));
  const mScores = quintileScores(cols.monetary.subarray(0, n));
  const segments = rScores.map((r, i): Segment =>
    Number.isNaN(cols.recencyDays[i]) ? (cols.tenureDays[i]! <= 90 ? "New" : "Lost") : rfmSegment(r, fScores[i]!),
  );
  const segmentIndex = Uint8Array.from(segments, (segment) => SEGMENTS.indexOf(segment));
  const medianOrder = segmentMedians(segmentIndex, cols.averageOrder.subarray(0, n), SEGMENTS.length);
  const writeStarted = performance.now();
  let written = 0;
  // Binary COPY: the server stores the numbers as sent instead of parsing their text.
  // The fields every row repeats, and the few bands and segments, are encoded once.
  const runField = BinaryCopyWriter.field((w) => w.int4(run.id));
  const modelField = BinaryCopyWriter.field((w) => w.int4(model?.id ?? null));
  const asOfField = BinaryCopyWriter.field((w) => w.timestamp(asOf));
  const textFields = new Map<string, Buffer>();
  const textField = (value: string) => {
    let field = textFields.get(value);
    if (!field) textFields.set(value, (field = BinaryCopyWriter.field((w) => w.text(value))));
    return field;
  };
  function* rows(from: number, to: number): Generator<Buffer> {
    const out = new BinaryCopyWriter();
    for (let i = from; i < to; i++) {
      const band = textField(BANDS[cols.band[i]!]!);
      const segment = textField(segments[i]!);
      // "Small orders" only where the customer's mean order is below their segment's median.
      const reasons =
        cols.smallOrders[i] && !(cols.averageOrder[i]! < medianOrder[segmentIndex[i]!]!)
          ? cols.reasonsWithoutSmallOrders.get(i)
          : cols.reasons.get(i);
      out.row(SCORE_FIELDS, SCORE_FIXED_BYTES + reasons.length + band.length + segment.length);
      out.encoded(runField).int4(cols.customerId[i]!).encoded(modelField).encoded(asOfField);
      out
        .float8(cols.churn[i]!)
        .encoded(band)
        .float8(cols.pAlive[i]!)
        .float8(cols.expectedPurchases[i]!)
        .float8(cols.expectedSpend[i]!)
        .float8(cols.clv[i]!);
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

  const segmentCounts: Partial<Record<Segment, number>> = {};
  for (const s of segments) segmentCounts[s] = (segmentCounts[s] ?? 0) + 1;
  const method = params ? "logistic" : "bgnbd-fallback";
  const durationMs = Math.round(performance.now() - started);
  await db.prisma.scoreRun.update({
    where: { id: run.id },
    data: {
      customers: n,
      durationMs,
      finishedAt: now(),
      stats: { method, riskBands, segments: segmentCounts, featuresMs, modelMs: Math.round(modelMs), writeMs },
    },
  });
  log.info({ runId: run.id, customers: n, method, durationMs }, "scoring finished");
  return {
    runId: run.id,
    modelId: model?.id ?? null,
    method,
    customers: n,
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
