// `retention import customers|orders FILE`: streamed, batched, idempotent imports.
// Each batch is one transaction, so a crash or Ctrl-C never leaves half a batch; --strict
// checks the whole file first and writes everything in one transaction or nothing.
import type { Database, Prisma, PrismaClient } from "../db/client";
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
import { openCdnow, openCsv, type RecordSource } from "./sources";
import {
  customerIdsByExternalId,
  ensureCustomers,
  upsertCustomers,
  upsertPurchases,
  type CustomerRow,
  type PurchaseRow,
  type UpsertCounts,
} from "./store";

export type ImportKind = "customers" | "orders";
export type ImportFormat = "csv" | "cdnow";

export interface ImportOptions {
  kind: ImportKind;
  file: string;
  format?: ImportFormat;
  /** Source column -> field, overriding the name matching. */
  map?: Record<string, string>;
  strict?: boolean;
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
}

export interface ImportProgress {
  rows: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export interface RowError {
  line: number;
  reason: string;
}

export interface ImportReport {
  kind: ImportKind;
  file: string;
  rows: number;
  written: UpsertCounts;
  customersCreated: number;
  rejected: number;
  /** The first `MAX_REPORTED_ERRORS` problems, in file order. */
  errors: RowError[];
  /** True when --strict found problems and nothing was written. */
  refused: boolean;
  aborted: boolean;
  durationMs: number;
}

export const MAX_REPORTED_ERRORS = 1000;

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
    errors: [],
    refused: false,
    aborted: false,
    durationMs: 0,
  };
  const addError = (e: RowError) => {
    report.rejected++;
    if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push(e);
  };

  if (options.strict) {
    // Pass 1 reads everything and writes nothing.
    const check = await runPass(db.prisma, options, format, { write: false }, addError, () => undefined);
    report.rows = check.rows;
    if (report.rejected > 0 || check.aborted) {
      report.refused = report.rejected > 0;
      report.aborted = check.aborted;
      report.errors.sort((a, b) => a.line - b.line);
      report.durationMs = Date.now() - started;
      return report;
    }
    report.rows = 0;
    await db.prisma
      .$transaction(async (tx) => {
        const pass = await runPass(tx, options, format, { write: true }, addError, (counts, created) =>
          add(report, counts, created),
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
      { write: true, transactionPerBatch: true },
      addError,
      (counts, created) => add(report, counts, created),
    );
    report.rows = pass.rows;
    report.aborted = pass.aborted;
  }
  // The purchase totals scoring reads: recount the customers this file's purchases changed.
  if (options.kind === "orders" && !report.refused) await settlePurchaseStats(db);
  report.errors.sort((a, b) => a.line - b.line);
  report.durationMs = Date.now() - started;
  return report;
}

class AbortedError extends Error {}

function add(report: ImportReport, counts: UpsertCounts, created: number) {
  report.written.inserted += counts.inserted;
  report.written.updated += counts.updated;
  report.written.unchanged += counts.unchanged;
  report.customersCreated += created;
}

async function openSource(options: ImportOptions, format: ImportFormat): Promise<RecordSource> {
  try {
    return format === "cdnow"
      ? await openCdnow(options.file)
      : await openCsv(options.file, { delimiter: options.delimiter });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ImportFileError(`${options.file}: no such file`);
    if (code === "EISDIR") throw new ImportFileError(`${options.file} is a folder, not a file`);
    throw new ImportFileError(error instanceof Error ? error.message : String(error));
  }
}

/** One read of the file: validate rows, batch them, and (when `write`) upsert each batch. */
async function runPass(
  client: Tx,
  options: ImportOptions,
  format: ImportFormat,
  mode: { write: boolean; transactionPerBatch?: boolean },
  addError: (e: RowError) => void,
  onWritten: (counts: UpsertCounts, customersCreated: number) => void,
): Promise<{ rows: number; aborted: boolean }> {
  const source = await openSource(options, format);
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
        const rowsToWrite = batch;
        batch = [];
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
        const pending = batch;
        batch = [];
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
