// The per-customer part of a scoring run: a packed feature row (features.ts) -> the churn model,
// BG/NBD, Gamma-Gamma, CLV and reasons -> one entry of the run's columns. Pure computation (no
// database), so it runs the same on the main thread and in scoring workers (score-pool.ts).
import type { Config } from "../config/config";
import { applyChurnModel, expectedSpend, latentQuantities, type ChurnModelParams } from "./churn-model";
import { decodeFeatures, type AttributeFeature, type CustomerFeatures } from "./features";
import { bgnbdExpectedIfAlive, type BgNbdParams } from "./models/bgnbd";
import type { GammaGammaParams } from "./models/gamma-gamma";
import { heuristicContributions, rankReasons, storedTopReasons } from "./reasons";
import { riskBand, type RiskBand } from "./segments";
import { maxUtf8Bytes } from "../db/copy-binary";

export const BANDS: readonly RiskBand[] = ["low", "medium", "high"];

/** Everything the per-customer scoring needs; plain data, so it can be sent to a worker. */
export interface ScoringContext {
  /** The active churn model; null when scoring with BG/NBD alone. */
  params: ChurnModelParams | null;
  /** BG/NBD and Gamma-Gamma fitted for this run when there is no model (null: nothing to fit on). */
  fallback: { bgnbd: BgNbdParams; gammaGamma: GammaGammaParams | null } | null;
  /** The attribute columns of the packed rows. */
  spec: AttributeFeature[];
  /** The model's columns (the contributions' names). */
  names: string[];
  config: Pick<
    Config["analytics"],
    "churnHorizonDays" | "clvHorizonDays" | "defaultGrossMargin" | "riskHigh" | "riskMedium"
  >;
}

/** Text `i` of texts kept as UTF-8 bytes back to back (a {@link Utf8List} or its export). */
export function utf8At<T extends Uint8Array>(list: { bytes: T; end: Uint32Array }, i: number): T {
  return list.bytes.subarray(i === 0 ? 0 : list.end[i - 1]!, list.end[i]!) as T;
}

/** Texts kept as UTF-8 bytes back to back, set in index order (0, 1, 2, ...). */
export class Utf8List {
  private bytes: Buffer;
  /** Where each text ends in `bytes` (it starts where the previous one ends). */
  private end: Uint32Array;

  constructor(capacity: number, bytesEach: number) {
    this.end = new Uint32Array(capacity);
    this.bytes = Buffer.allocUnsafe(Math.max(64, capacity * bytesEach));
  }

  set(i: number, text: string): void {
    const start = this.reserve(i, maxUtf8Bytes(text));
    this.end[i] = start + (text.length ? this.bytes.write(text, start, "utf8") : 0);
  }

  get(i: number): Buffer {
    return utf8At({ bytes: this.bytes, end: this.end }, i);
  }

  /**
   * The first `n` texts as two arrays that own their memory (nothing shared with Node's buffer
   * pool), so they can be transferred. They are this list's own when it holds exactly `n` texts
   * in a buffer of its own: the list must not be used after.
   */
  export(n: number): { bytes: Uint8Array; end: Uint32Array } {
    const used = n === 0 ? 0 : this.end[n - 1]!;
    // Not Buffer's slice of a pooled Buffer: its whole ArrayBuffer is transferred. A buffer this
    // list allocated for itself (4 KB and more: not from the pool) is handed over as it is.
    const own = this.bytes.byteOffset === 0 && this.bytes.buffer.byteLength === this.bytes.length;
    let bytes: Uint8Array;
    if (own) bytes = new Uint8Array(this.bytes.buffer, 0, used);
    else {
      bytes = new Uint8Array(used);
      bytes.set(this.bytes.subarray(0, used));
    }
    return { bytes, end: n === this.end.length ? this.end : this.end.slice(0, n) };
  }

  /** Makes room for text `i` of `bytes` bytes after text i - 1; returns where it starts. */
  private reserve(i: number, bytes: number): number {
    if (i + 1 > this.end.length) {
      const bigger = new Uint32Array(Math.max(i + 1, this.end.length * 2));
      bigger.set(this.end);
      this.end = bigger;
    }
    const start = i === 0 ? 0 : this.end[i - 1]!;
    if (start + bytes > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, start + bytes));
      this.bytes.copy(bigger, 0, 0, start);
      this.bytes = bigger;
    }
    return start;
  }
}

/** Each number column of {@link ScoreColumns} and its array type. */
const COLUMN_ARRAYS = {
  customerId: Int32Array,
  churn: Float64Array,
  band: Uint8Array,
  pAlive: Float64Array,
  expectedPurchases: Float64Array,
  expectedSpend: Float64Array,
  clv: Float64Array,
  recencyDays: Float64Array,
  frequency: Float64Array,
  monetary: Float64Array,
  tenureDays: Float64Array,
  averageOrder: Float64Array,
  smallOrders: Uint8Array,
} as const;
type NumberColumn = keyof typeof COLUMN_ARRAYS;
const NUMBER_COLUMNS = Object.keys(COLUMN_ARRAYS) as NumberColumn[];

/** A batch's columns as sent from a worker: fresh typed arrays, `length` entries each. */
export type ScoredBatch = { [K in NumberColumn]: ScoreColumns[K] } & {
  length: number;
  reasons: { bytes: Uint8Array; end: Uint32Array };
  reasonsWithoutSmallOrders: { bytes: Uint8Array; end: Uint32Array };
  /** Milliseconds spent decoding and scoring the batch. */
  ms: number;
};

/**
 * What a run keeps per customer until the population-wide RFM quintiles are known: typed arrays
 * (NaN where there is no value, written as NULL) and the reasons' JSON bytes back to back. A
 * million customers then leave no million boxed numbers and strings for the garbage collector to
 * copy from one generation to the next (measured: 1.0 of 5.6 s of a profiled PostgreSQL run of
 * 300,000 customers was garbage collection).
 */
export class ScoreColumns {
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

  /**
   * The columns so far, and the buffers to transfer with them. Columns exactly full are handed
   * over as they are, not copied (a worker's columns are made to its batch's size; copying them
   * put a batch's worth of fresh memory, page faults included, on the worker's critical path):
   * these columns must not be used after.
   */
  export(ms: number): { batch: ScoredBatch; transfer: ArrayBuffer[] } {
    const n = this.length;
    const batch = { length: n, ms } as ScoredBatch;
    const columns = batch as unknown as Record<NumberColumn, Int32Array | Uint8Array | Float64Array>;
    const full = n === this.customerId.length;
    for (const name of NUMBER_COLUMNS) columns[name] = full ? this[name] : this[name].slice(0, n);
    batch.reasons = this.reasons.export(n);
    batch.reasonsWithoutSmallOrders = this.reasonsWithoutSmallOrders.export(n);
    const transfer = [
      ...NUMBER_COLUMNS.map((name) => columns[name].buffer as ArrayBuffer),
      batch.reasons.bytes.buffer as ArrayBuffer,
      batch.reasons.end.buffer as ArrayBuffer,
      batch.reasonsWithoutSmallOrders.bytes.buffer as ArrayBuffer,
      batch.reasonsWithoutSmallOrders.end.buffer as ArrayBuffer,
    ];
    return { batch, transfer };
  }

  /** (Re)allocates every column for `capacity` customers, keeping the ones so far. */
  private allocate(capacity: number): void {
    const columns = this as unknown as Record<NumberColumn, Int32Array | Uint8Array | Float64Array | undefined>;
    for (const name of NUMBER_COLUMNS) {
      const fresh = new COLUMN_ARRAYS[name](capacity);
      const old = columns[name];
      if (old) fresh.set(old.subarray(0, this.length));
      columns[name] = fresh;
    }
  }
}

/**
 * A function that decodes one packed feature row, scores the customer and adds them to `cols`
 * (see {@link ScoringContext}). Every call reuses the same scratch buffers.
 */
export function customerScorer(context: ScoringContext): (packed: string, cols: ScoreColumns) => void {
  const { params, fallback, spec, names, config } = context;
  const attributeNames = spec.map((s) => s.name);
  const horizon = config.churnHorizonDays;
  const bg = params?.bgnbd ?? fallback?.bgnbd ?? null;
  const gg = params?.gammaGamma ?? fallback?.gammaGamma ?? null;
  // One contributions buffer for every customer: rankReasons reads it before the next customer.
  const contributionBuffer = new Float64Array(names.length);
  const score = (f: CustomerFeatures, cols: ScoreColumns) => {
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
    cols.churn[i] = churn;
    cols.band[i] = BANDS.indexOf(riskBand(churn, config));
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
  return (packed, cols) => score(decodeFeatures(packed, spec), cols);
}

/** Scores one batch of packed feature rows with a {@link customerScorer} into fresh columns. */
export function scoreBatch(scoreRow: (packed: string, cols: ScoreColumns) => void, rows: readonly string[]) {
  const started = performance.now();
  const cols = new ScoreColumns(rows.length);
  for (const row of rows) scoreRow(row, cols);
  return cols.export(performance.now() - started);
}
