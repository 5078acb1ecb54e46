// Reading an orders file for the staged import: each row checked in TypeScript (the
// line-numbered report) and the good ones sent by binary COPY into the staging table, a batch
// at a time, the next batch read while the last one loads.
import { BinaryCopyWriter, maxUtf8Bytes } from "../db/copy-binary";
import type { DatabaseSession } from "../db/client";
import type { TableRecord, TableStream } from "./decode";
import type { ColumnPlan, OrderField } from "./fields";
import type { ImportOptions } from "./importer";
import { checkOrderLine, NUMBER_FIELDS, orderLineKey } from "./orders";
import { Rejections } from "./rejections";
import {
  DateLayoutInference,
  DecimalMarkVotes,
  type DateLayout,
  type DateLayoutResult,
  type DecimalMark,
} from "./values";

/** Rows per COPY into the staging table (PGlite loads each as one blob). */
const STAGE_ROWS = 50_000;
/** Rows read before the date layout and decimal mark are first decided. */
const SPECULATE_ROWS = 50_000;
/**
 * Rows after which, and after each as many more, the reading is decided early where the rows so
 * far settle it (see DateLayoutInference.settled and DecimalMarkVotes.settled): rows held while
 * undecided outlive the young generation's collections and are copied and promoted on the way.
 */
const SETTLE_ROWS = 1_000;

/** Thrown inside the import when it is stopped (Ctrl-C) before it finished. */
export class AbortedError extends Error {}

export interface ReadSettings {
  dateLayout: DateLayout;
  decimalMark: DecimalMark;
}

export interface StagePass {
  rows: number;
  rejections: Rejections;
  aborted: boolean;
  /** What the whole file says, where it was inferred. */
  final: { dates: DateLayoutResult | null; decimalMark: DecimalMark };
  /** What the rows were checked with; null when nothing was staged (no layout from the first rows). */
  used: ReadSettings | null;
  staged: number;
  numbered: number;
  refundLines: number;
}

/**
 * One read of the file: every row checked and the good ones staged. Without `fixed` settings the
 * date layout and decimal mark are taken from the first rows (or the whole file, when it is
 * shorter), and the inference goes on to the end so the caller can tell whether they held.
 */
export async function stagePass(
  session: DatabaseSession,
  linesTable: string,
  table: TableStream,
  plan: ColumnPlan<OrderField>,
  options: ImportOptions,
  fixed: ReadSettings | null,
  given: ReadSettings | null,
  started: number,
): Promise<StagePass> {
  const f = plan.fields;
  const header = table.header;
  const infer = fixed === null;
  const dates = infer && !given ? new DateLayoutInference() : null;
  const marks = infer ? new DecimalMarkVotes() : null;
  const numberColumns = NUMBER_FIELDS.flatMap((field) => (f[field] === undefined ? [] : [f[field]]));
  const rejections = new Rejections();
  const pass: StagePass = {
    rows: 0,
    rejections,
    aborted: false,
    final: { dates: null, decimalMark: "." },
    used: fixed,
    staged: 0,
    numbered: 0,
    refundLines: 0,
  };
  // Rows read before the reading is decided; null once it is (or once it can't be from the first rows).
  let pending: { record: TableRecord; isLast: boolean }[] | null = infer ? [] : null;
  let writer = new BinaryCopyWriter();
  let inWriter = 0;
  let copying: Promise<void> | null = null;
  const copySql = `COPY ${linesTable} (line, order_id, key, numbered, customer, at, amount, quantity, refund, cancelled, refunded, margin, product, category) FROM STDIN WITH (FORMAT binary)`;
  const read = {
    dateLayout: fixed?.dateLayout ?? given?.dateLayout,
    decimalMark: fixed?.decimalMark ?? ".",
    timeZone: options.timeZone,
    now: options.now,
  };

  // The previous COPY runs while the next rows are read and checked. The rows go in chunks of
  // the writer's size (no copying of a growing buffer).
  let chunks: Buffer[] = [];
  const flush = async () => {
    if (inWriter === 0) return;
    chunks.push(writer.end());
    const data = chunks;
    chunks = [];
    writer = new BinaryCopyWriter();
    inWriter = 0;
    if (copying) await copying;
    copying = session.copyFrom(copySql, data);
    copying.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    options.onProgress?.({
      rows: pass.rows,
      bytes: Math.round(table.bytesRead() * READ_SHARE),
      totalBytes: table.totalBytes,
      elapsedMs: Date.now() - started,
    });
  };

  // Per row synchronous: an await per row cost more than checking it.
  const stage = (record: TableRecord, isLast: boolean): void => {
    const checked = checkOrderLine(
      header,
      plan,
      read as typeof read & { dateLayout: DateLayout },
      record.line,
      record.cells,
      isLast,
    );
    if (typeof checked === "string") {
      rejections.add({ line: record.line, reason: checked });
      return;
    }
    const { key, numbered } = orderLineKey(checked);
    if (numbered) pass.numbered++;
    if (checked.refund) pass.refundLines++;
    const orderId = checked.orderId ?? null;
    const customer = checked.customer ?? null;
    const product = checked.product ?? null;
    const category = checked.category ?? null;
    const textBytes =
      maxUtf8Bytes(key) +
      (orderId ? maxUtf8Bytes(orderId) : 0) +
      (customer ? maxUtf8Bytes(customer) : 0) +
      (product ? maxUtf8Bytes(product) : 0) +
      (category ? maxUtf8Bytes(category) : 0);
    const rowBytes = 14 * 4 + 60 + textBytes;
    if (!writer.fits(rowBytes)) chunks.push(writer.take());
    writer.row(14, rowBytes).int4(checked.line);
    text(writer, orderId).text(key).bool(numbered);
    // Money as the exact integers it was checked into (1/10,000 of the unit): the sums and the
    // rounding to cents stay in integers, where float8 needed a conversion to numeric per value.
    text(writer, customer).timestamp(checked.at).int8(checked.amount).float8(checked.quantity);
    writer.bool(checked.refund).bool(checked.cancelled).int8(checked.refunded);
    if (checked.margin === null) writer.null();
    else writer.int8(checked.margin);
    text(text(writer, product), category);
    pass.staged++;
    inWriter++;
  };

  const decide = (final: boolean): boolean => {
    const dateResult = dates?.result();
    if (dateResult && !dateResult.ok && !final) return false;
    if (dateResult && !dateResult.ok) return false;
    read.dateLayout = dateResult ? (dateResult as { layout: DateLayout }).layout : given!.dateLayout;
    read.decimalMark = marks!.result();
    pass.used = { dateLayout: read.dateLayout, decimalMark: read.decimalMark };
    return true;
  };

  // Whether the rows so far decide the reading as the whole file most likely will; if a later row
  // changes the verdict after all, the file is read again (as after SPECULATE_ROWS).
  const settled = () => (dates === null || dates.settled()) && marks!.settled();

  const take = (record: TableRecord, isLast: boolean): void => {
    pass.rows++;
    if (infer) {
      const cells = record.cells;
      if (dates && f.purchasedAt !== undefined) dates.add(cells[f.purchasedAt] ?? "");
      for (const index of numberColumns) marks!.add(cells[index!] ?? "");
    }
    if (pending === null) {
      if (pass.used) stage(record, isLast);
      return;
    }
    pending.push({ record, isLast });
    if (pending.length < SPECULATE_ROWS && (pending.length % SETTLE_ROWS !== 0 || !settled())) return;
    const held = pending;
    pending = null;
    if (decide(false)) for (const p of held) stage(p.record, p.isLast);
  };
  // A COPY of STAGE_ROWS rows (or of the rows held while the reading was decided).
  const flushFull = async () => {
    await flush();
    if (options.signal?.aborted) throw new AbortedError();
  };

  try {
    let previous: TableRecord | null = null;
    for await (const batch of table.batches) {
      for (const record of batch) {
        if (previous) {
          take(previous, false);
          if (inWriter >= STAGE_ROWS) await flushFull();
        }
        previous = record;
      }
    }
    if (previous) take(previous, true);
    if (pending !== null) {
      const held: { record: TableRecord; isLast: boolean }[] = pending;
      pending = null;
      if (decide(true)) for (const p of held) stage(p.record, p.isLast);
    }
    await flush();
    if (copying) await copying;
  } catch (error) {
    if (copying) await (copying as Promise<void>).catch(() => undefined);
    if (!(error instanceof AbortedError)) throw error;
    pass.aborted = true;
  }
  for (const e of table.errors) rejections.add(e);
  pass.final = { dates: dates?.result() ?? null, decimalMark: marks?.result() ?? read.decimalMark };
  return pass;
}

/** The share of the progress bar for reading the file; writing fills the rest. */
export const READ_SHARE = 0.5;

function text(writer: BinaryCopyWriter, value: string | null): BinaryCopyWriter {
  return value === null ? writer.null() : writer.text(value);
}
