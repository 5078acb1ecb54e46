// `retention import customers|orders FILE`: streamed, batched, idempotent imports.
// Each batch is one transaction, so a crash or Ctrl-C never leaves half a batch; --strict
// checks the whole file first and writes everything in one transaction or nothing.
import {
  loadSuppressionList,
  partitionSuppressed,
  type ErasureSettings,
  type SuppressionList,
} from "../consent/suppression";
import type { Database, Prisma, PrismaClient } from "../db/client";
import { analyzeCustomersIfStale } from "../db/planner-statistics";
import { settlePurchaseStats } from "../db/purchase-stats";
import {
  CUSTOMER_FIELDS,
  customerFromCells,
  ORDER_FIELDS,
  orderFromCells,
  planColumns,
  type ColumnPlan,
  type CustomerField,
  type OrderField,
} from "./fields";
import { streamTable, TableError, type TableRecord, type TableStream } from "./decode";
import type { OrderShape } from "./orders";
import { Rejections, type RowError } from "./rejections";
import { openCdnow, type RecordSource } from "./sources";
import { importOrdersStaged, StagedOrdersFileError } from "./staged-orders";
import {
  customerIdsByExternalId,
  ensureCustomers,
  upsertCustomers,
  upsertPurchases,
  type CustomerRow,
  type PurchaseRow,
  type UpsertCounts,
} from "./store";
import { normalizeId } from "./values";

export type ImportKind = "customers" | "orders";
export type ImportFormat = "csv" | "cdnow";

export interface ImportOptions {
  kind: ImportKind;
  file: string;
  format?: ImportFormat;
  /** Source column -> field, overriding the name matching. */
  map?: Record<string, string>;
  strict?: boolean;
  /** Rows per write transaction (default: 50,000 for orders CSV files, 5,000 otherwise). */
  batchSize?: number;
  delimiter?: string;
  /** Zone for dates without an offset. */
  timeZone: string;
  dateFormat?: string;
  now: Date;
  /** Orders only: create customers that are not in the store yet (the CDNOW format always does). */
  createCustomers?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** The file's encoding; detected when left out. */
  encoding?: string;
  /** Orders: force one row per product (`lines`) or per order (`orders`). */
  shape?: OrderShape;
  /** Read, check and summarise; write nothing. */
  dryRun?: boolean;
  /** The share of rows that may be rejected before the import counts as failed (default 0.05). */
  maxRejectedShare?: number;
  /** The erasure suppression list's key and phone region (from the configuration). */
  erasure?: ErasureSettings;
}

export interface ImportProgress {
  rows: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export type { RowError } from "./rejections";
export { MAX_REPORTED_ERRORS } from "./rejections";

export interface ImportReport {
  kind: ImportKind;
  file: string;
  rows: number;
  written: UpsertCounts;
  customersCreated: number;
  rejected: number;
  /**
   * Rows skipped because their customer asked to be forgotten (on the erasure suppression list):
   * nothing of theirs is written, and they are not rejections (the import does not fail for them).
   */
  skippedErased: number;
  /** The first `MAX_REPORTED_ERRORS` problems, in file order. */
  errors: RowError[];
  /** True when --strict found problems and nothing was written. */
  refused: boolean;
  aborted: boolean;
  durationMs: number;
  /** How the file was read: encoding, delimiter and (orders) shape, columns and date format. */
  detected: DetectedLayout;
  /** Every rejection reason with its count and first line, most frequent first. */
  rejectionsByReason: { reason: string; count: number; firstLine: number }[];
  /** Orders: refunds and anonymous sales written. */
  refundsWritten: UpsertCounts;
  anonymousWritten: UpsertCounts;
  /** Orders: what the file holds, in money (decimal strings) and counts. */
  totals: OrderTotals | null;
  /** The file's customers that may receive marketing (consent given, not opted out). */
  marketableCustomers: number | null;
  /** Customers in the file (distinct). */
  customersInFile: number;
  /** The first rows as they are (or, in a dry run, would be) stored. */
  preview: Record<string, unknown>[];
  dryRun: boolean;
  /** More than `maxRejectedShare` of the rows were rejected: the import failed. */
  tooManyRejected: boolean;
  /** What to try when rows were rejected: the option that would help. */
  hints: string[];
}

export interface DetectedLayout {
  encoding?: string;
  delimiter?: string;
  shape?: OrderShape;
  shapeReason?: string;
  mapping?: Record<string, string>;
  dateFormat?: string;
  dateReason?: string;
  decimalMark?: string;
}

export interface OrderTotals {
  orders: number;
  /** Customers with at least one of those orders. */
  customers: number;
  /** Customers in the file with refunds and no order (their orders were imported before). */
  refundOnlyCustomers: number;
  gross: string;
  refunds: string;
  refundCount: number;
  refundsLinkedToOrder: number;
  net: string;
  anonymousSales: number;
  anonymousGross: string;
  anonymousRefunds: string;
  /** Net revenue of the whole file, attributed or not. */
  totalNet: string;
}

/** Thrown for a file that can't be imported at all (missing, no header, unmatched columns). */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportFileError";
  }
}

type Tx = PrismaClient | Prisma.TransactionClient;
const TX_OPTIONS = { timeout: 30 * 60_000, maxWait: 60_000 };

/**
 * Imports a file. Bad rows are reported with their line numbers and skipped (or, with
 * `strict`, refuse the whole file). Returns the report; throws `ImportFileError` when the
 * file can't be read or its columns don't fit.
 */
export async function importFile(db: Database, options: ImportOptions): Promise<ImportReport> {
  const started = Date.now();
  const format = options.format ?? "csv";
  if (format === "cdnow" && options.kind !== "orders")
    throw new ImportFileError("--format cdnow is an orders file: use `retention import orders --format cdnow FILE`");
  const report: ImportReport = {
    kind: options.kind,
    file: options.file,
    rows: 0,
    written: { inserted: 0, updated: 0, unchanged: 0 },
    customersCreated: 0,
    rejected: 0,
    skippedErased: 0,
    errors: [],
    refused: false,
    aborted: false,
    durationMs: 0,
    detected: {},
    rejectionsByReason: [],
    refundsWritten: { inserted: 0, updated: 0, unchanged: 0 },
    anonymousWritten: { inserted: 0, updated: 0, unchanged: 0 },
    totals: null,
    marketableCustomers: null,
    customersInFile: 0,
    preview: [],
    dryRun: options.dryRun === true,
    tooManyRejected: false,
    hints: [],
  };
  const rejections = new Rejections();
  const addError = (e: RowError) => rejections.add(e);
  const finish = () => {
    report.rejected = rejections.count;
    report.errors = rejections.errors();
    report.rejectionsByReason = rejections.reasons();
    const share = options.maxRejectedShare ?? 0.05;
    report.tooManyRejected = report.rows > 0 && report.rejected / report.rows > share;
    report.hints = hintsFor(report, options);
    report.durationMs = Date.now() - started;
    return report;
  };

  // Who asked to be forgotten: their rows are skipped (read once; empty until the first erasure).
  const suppression = await loadSuppressionList(db, options.erasure);
  if (format === "csv" && options.kind === "orders") {
    try {
      await importOrdersStaged(db, options, report, rejections, suppression);
    } catch (error) {
      if (error instanceof StagedOrdersFileError) throw new ImportFileError(error.message);
      throw error;
    }
    return finish();
  }
  // A customer file is read as a stream, twice: once for its ids (a transactional file is refused
  // before anything is written), then to check and write its rows in batches.
  let openTable: (() => Promise<TableStream>) | null = null;
  let fileIds: string[] | null = null;
  if (format === "csv") {
    openTable = () =>
      streamTable(options.file, { encoding: options.encoding, delimiter: options.delimiter }).catch(
        (error: unknown) => {
          throw error instanceof TableError ? new ImportFileError(error.message) : error;
        },
      );
    const table = await openTable();
    report.detected.encoding = `${table.encoding} (${table.encodingSource === "given" ? "given" : table.encodingSource === "bom" ? "byte order mark" : "detected"})`;
    report.detected.delimiter = table.delimiter === "\t" ? "tab" : table.delimiter;
    fileIds = await refuseTransactionalCustomers(table, options.map ?? {});
  }
  const source = openTable;

  if (options.strict) {
    // Pass 1 reads everything and writes nothing.
    const pass = { suppression, onSkipped: () => undefined };
    const check = await runPass(
      db.prisma,
      options,
      format,
      source,
      { write: false, ...pass },
      addError,
      () => undefined,
    );
    report.rows = check.rows;
    if (rejections.count > 0 || check.aborted) {
      report.refused = rejections.count > 0;
      report.aborted = check.aborted;
      return finish();
    }
    report.rows = 0;
    await db.prisma
      .$transaction(async (tx) => {
        const skipping = { suppression, onSkipped: (n: number) => (report.skippedErased += n) };
        const pass = await runPass(
          tx,
          options,
          format,
          source,
          { write: true, ...skipping },
          addError,
          (counts, created) => add(report, counts, created),
        );
        report.rows = pass.rows;
        // Ctrl-C during a strict import: roll the whole file back.
        if (pass.aborted) throw new AbortedError();
      }, TX_OPTIONS)
      .catch((error: unknown) => {
        if (!(error instanceof AbortedError)) throw error;
        report.aborted = true;
        report.written = { inserted: 0, updated: 0, unchanged: 0 };
        report.customersCreated = 0;
      });
  } else {
    const pass = await runPass(
      db.prisma,
      options,
      format,
      source,
      {
        write: !options.dryRun,
        transactionPerBatch: true,
        suppression,
        onSkipped: (n) => (report.skippedErased += n),
      },
      addError,
      (counts, created) => add(report, counts, created),
    );
    report.rows = pass.rows;
    report.aborted = pass.aborted;
  }
  // The purchase totals scoring reads: recount the customers this file's purchases changed.
  if (options.kind === "orders" && !report.refused) await settlePurchaseStats(db);
  if (options.kind === "customers" && !report.refused && !report.dryRun) await analyzeCustomersIfStale(db);
  if (options.kind === "customers" && fileIds) {
    report.customersInFile = fileIds.length;
    if (!report.refused && !report.dryRun) report.marketableCustomers = await marketableAmong(db, fileIds);
  }
  return finish();
}

class AbortedError extends Error {}

function add(report: ImportReport, counts: UpsertCounts, created: number) {
  report.written.inserted += counts.inserted;
  report.written.updated += counts.updated;
  report.written.unchanged += counts.unchanged;
  report.customersCreated += created;
}

async function openSource(
  options: ImportOptions,
  format: ImportFormat,
  openTable: (() => Promise<TableStream>) | null,
): Promise<RecordSource> {
  if (openTable) {
    const t = await openTable();
    return {
      header: t.header,
      records: recordsOf(t),
      errors: t.errors, // appended to as the rows are read
      bytesRead: t.bytesRead,
      totalBytes: t.totalBytes,
      close: t.close,
    };
  }
  try {
    return await openCdnow(options.file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ImportFileError(`${options.file}: no such file`);
    if (code === "EISDIR") throw new ImportFileError(`${options.file} is a folder, not a file`);
    throw new ImportFileError(error instanceof Error ? error.message : String(error));
  }
}

async function* recordsOf(table: TableStream): AsyncIterable<TableRecord> {
  for await (const batch of table.batches) yield* batch;
}

/** One read of the file: validate rows, batch them, and (when `write`) upsert each batch. */
async function runPass(
  client: Tx,
  options: ImportOptions,
  format: ImportFormat,
  openTable: (() => Promise<TableStream>) | null,
  mode: {
    write: boolean;
    transactionPerBatch?: boolean;
    suppression: SuppressionList;
    /** Rows skipped for the suppression list; counted in writing passes and dry runs. */
    onSkipped: (rows: number) => void;
  },
  addError: (e: RowError) => void,
  onWritten: (counts: UpsertCounts, customersCreated: number) => void,
): Promise<{ rows: number; aborted: boolean }> {
  const source = await openSource(options, format, openTable);
  const started = Date.now();
  const batchSize = options.batchSize ?? 5000;
  let rows = 0;
  let reportedSourceErrors = 0;
  const flushSourceErrors = () => {
    while (reportedSourceErrors < source.errors.length) addError(source.errors[reportedSourceErrors++]!);
  };
  const progress = () =>
    options.onProgress?.({
      rows,
      bytes: source.bytesRead(),
      totalBytes: source.totalBytes,
      elapsedMs: Date.now() - started,
    });

  // After each full batch: write it, report, and stop if asked to (Ctrl-C) between batches.
  const endBatch = async (flush: () => Promise<void>): Promise<boolean> => {
    await flush();
    flushSourceErrors();
    progress();
    return options.signal?.aborted === true;
  };

  const writeBatch = async (work: (tx: Tx) => Promise<void>) => {
    if (mode.transactionPerBatch && "$transaction" in client)
      await (client as PrismaClient).$transaction((tx) => work(tx), TX_OPTIONS);
    else await work(client);
  };

  try {
    if (options.kind === "customers") {
      const plan = columnsOrThrow(planColumns(source.header, CUSTOMER_FIELDS, options.map ?? {}, ["externalId"]));
      let batch: CustomerRow[] = [];
      const flush = async () => {
        let rowsToWrite = batch;
        batch = [];
        if (rowsToWrite.length === 0) return;
        const skipped = await partitionSuppressed(client, mode.suppression, rowsToWrite, (r) => r);
        rowsToWrite = skipped.kept;
        mode.onSkipped(skipped.suppressed.length);
        if (!mode.write || rowsToWrite.length === 0) return;
        await writeBatch(async (tx) => onWritten(await upsertCustomers(tx, rowsToWrite), 0));
      };
      for await (const record of source.records) {
        rows++;
        const result = customerFromCells(source.header, record.cells, plan as ColumnPlan<CustomerField>, options);
        if (result.ok) batch.push(result.row);
        else addError({ line: record.line, reason: result.reason });
        if (batch.length >= batchSize && (await endBatch(flush))) return { rows, aborted: true };
      }
      await flush();
    } else {
      const plan = columnsOrThrow(
        planColumns(source.header, ORDER_FIELDS, options.map ?? {}, ["customer", "purchasedAt", "amount"]),
      ) as ColumnPlan<OrderField>;
      const createCustomers = format === "cdnow" || options.createCustomers === true;
      const keyPrefix = format === "cdnow" ? "cdnow" : "row";
      const seenIds = new Map<string, number>(); // order id -> first line, for duplicates
      const occurrences = new Map<string, number>(); // derived keys for files without order ids
      let batch: (PurchaseRow & { line: number })[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        // The orders of customers who asked to be forgotten: skipped, and no customer created.
        const skipped = await partitionSuppressed(client, mode.suppression, batch, (r) => ({
          externalId: r.customerExternalId,
        }));
        const pending = skipped.kept;
        batch = [];
        mode.onSkipped(skipped.suppressed.length);
        if (pending.length === 0) return;
        const customerIds = [...new Set(pending.map((r) => r.customerExternalId))];
        if (createCustomers) {
          if (!mode.write) return;
          await writeBatch(async (tx) => {
            const created = await ensureCustomers(tx, customerIds);
            onWritten(await upsertPurchases(tx, pending), created);
          });
          return;
        }
        await writeBatch(async (tx) => {
          const known = await customerIdsByExternalId(tx, customerIds);
          const good = pending.filter((r) => {
            if (known.has(r.customerExternalId)) return true;
            addError({
              line: r.line,
              reason: `unknown customer "${r.customerExternalId.slice(0, 60)}" (import customers first, or use --create-customers)`,
            });
            return false;
          });
          if (mode.write) onWritten(await upsertPurchases(tx, good), 0);
        });
      };
      for await (const record of source.records) {
        rows++;
        const result = orderFromCells(source.header, record.cells, plan, options);
        if (!result.ok) {
          addError({ line: record.line, reason: result.reason });
        } else {
          const draft = result.row;
          let externalId = draft.externalId;
          if (externalId === undefined) {
            // No order id in the file: a key from the row itself, numbered for identical rows,
            // so importing the same file again finds the same keys.
            const base = `${keyPrefix}:${draft.customerExternalId}:${draft.purchasedAt.toISOString()}:${draft.amount}`;
            const n = (occurrences.get(base) ?? 0) + 1;
            occurrences.set(base, n);
            externalId = `${base}:${n}`;
          }
          const firstLine = seenIds.get(externalId);
          if (firstLine !== undefined)
            addError({
              line: record.line,
              reason: `duplicate order id "${externalId.slice(0, 60)}" (first on line ${firstLine})`,
            });
          else {
            seenIds.set(externalId, record.line);
            batch.push({ ...draft, externalId, line: record.line });
          }
        }
        if (batch.length >= batchSize && (await endBatch(flush))) return { rows, aborted: true };
      }
      await flush();
    }
    flushSourceErrors();
    progress();
    return { rows, aborted: false };
  } finally {
    source.close();
  }
}

function columnsOrThrow<F extends string>(
  result: { ok: true; plan: ColumnPlan<F> } | { ok: false; problems: string[] },
): ColumnPlan<F> {
  if (!result.ok)
    throw new ImportFileError(`the columns don't fit:\n${result.problems.map((p) => `  - ${p}`).join("\n")}`);
  return result.plan;
}

async function marketableAmong(db: Database, externalIds: string[]): Promise<number> {
  if (externalIds.length === 0) return 0;
  const [row] = await db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM customers
     WHERE external_id = ANY(${externalIds}::text[]) AND marketing_consent AND opted_out_at IS NULL AND erased_at IS NULL`;
  return row?.n ?? 0;
}

function customerIdColumn(header: string[], map: Record<string, string>): number | undefined {
  const planned = planColumns<CustomerField>(header, CUSTOMER_FIELDS, map, []);
  return planned.ok ? planned.plan.fields.externalId : undefined;
}

/**
 * A customer file holds each customer once. An id on several rows means a transactional file
 * (orders or order lines), whose columns would otherwise overwrite each customer's attributes
 * row after row: refuse it and say how to import it. Reads the whole stream (and closes it);
 * returns the file's distinct ids, or null when it has no id column (the write pass says so).
 */
async function refuseTransactionalCustomers(table: TableStream, map: Record<string, string>): Promise<string[] | null> {
  try {
    const index = customerIdColumn(table.header, map);
    if (index === undefined) return null;
    const first = new Map<string, number>();
    for await (const batch of table.batches)
      for (const record of batch) {
        const id = normalizeId(record.cells[index] ?? "");
        if (id === "") continue;
        const seen = first.get(id);
        if (seen !== undefined)
          throw new ImportFileError(
            `customer id "${id.slice(0, 60)}" is on line ${seen} and again on line ${record.line}: this looks like a transactional file (one row per order or product), not a customer list. Import it with \`retention import orders FILE --create-customers\`, or remove the repeated rows.`,
          );
        first.set(id, record.line);
      }
    return [...first.keys()];
  } finally {
    table.close();
  }
}

/** The options that would help with the rejections seen. */
function hintsFor(report: ImportReport, options: ImportOptions): string[] {
  const hints: string[] = [];
  const has = (re: RegExp) => report.rejectionsByReason.some((r) => re.test(r.reason));
  if (has(/is not a date/))
    hints.push(
      `some dates don't read as ${report.detected.dateFormat ?? "the inferred layout"}: give their layout with --date-format (luxon tokens, e.g. dd.MM.yyyy HH:mm)`,
    );
  if (has(/unknown customer/)) hints.push("orders name customers the store doesn't have: add --create-customers");
  if (has(/expected N columns/))
    hints.push(
      `rows have a different number of columns than the header: check --delimiter (read with "${report.detected.delimiter ?? ","}")`,
    );
  if (has(/not valid UTF-N|unreadable CSV/))
    hints.push("the file's encoding or quoting is off: give --encoding (e.g. windows-1251, latin1)");
  if (has(/is not a number/))
    hints.push("a column read as a number isn't one: check the mapping above and fix it with --map COLUMN=field");
  if (has(/duplicate order id/)) hints.push("order ids repeat: the file has one row per product; use --lines");
  if (report.tooManyRejected)
    hints.push(
      `more than ${Math.round((options.maxRejectedShare ?? 0.05) * 100)}% of the rows were rejected; --max-rejected raises the limit`,
    );
  return hints;
}
