// The live feed's core: JSON records pushed by a shop, checked by the same column matching,
// validation and messages as the CSV import, and written by the same idempotent upserts
// (keyed by external ids, so a retried request changes nothing).
import { loadSuppressionList, partitionSuppressed, type ErasureSettings } from "../consent/suppression";
import type { Database } from "../db/client";
import { settlePurchaseStats } from "../db/purchase-stats";
import type { Table } from "./decode";
import { CUSTOMER_FIELDS, customerFromCells, planColumns, type CustomerField } from "./fields";
import { prepareOrders } from "./orders";
import {
  ensureCustomers,
  upsertAnonymousSales,
  upsertCustomers,
  upsertPurchases,
  upsertRefunds,
  type CustomerRow,
  type RefundRow,
  type UpsertCounts,
} from "./store";
import { normalizeId, parseNumber, readDate } from "./values";

export interface IngestResult {
  received: number;
  written: UpsertCounts;
  refunds?: UpsertCounts;
  anonymousSales?: UpsertCounts;
  /** Rejected records by position in the array (0-based), with the import's reason. */
  rejected: { index: number; reason: string }[];
  /**
   * Records skipped because their customer asked to be forgotten (erasure suppression list):
   * accepted, not written, and not an error.
   */
  skippedErased: number;
}

export type IngestKind = "orders" | "customers" | "refunds";

/** A request body that is not an array of flat objects: the reason, or null when it is one. */
export function checkRecords(body: unknown, maxRecords: number): string | null {
  if (!Array.isArray(body)) return "the body must be a JSON array of objects";
  if (body.length === 0) return "the array is empty";
  if (body.length > maxRecords) return `at most ${maxRecords} records per request (got ${body.length})`;
  const bad = body.findIndex((r) => typeof r !== "object" || r === null || Array.isArray(r));
  return bad >= 0 ? `record ${bad} is not an object` : null;
}

// Records as a table whose "line" is the record's position + 1, so the import's checks apply.
function asTable(records: Record<string, unknown>[]): Table {
  const header = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return {
    header,
    records: records.map((r, i) => ({
      line: i + 1,
      cells: header.map((h) => (r[h] === undefined || r[h] === null ? "" : String(r[h]))),
    })),
    errors: [],
    encoding: "utf-8",
    encodingSource: "given",
    delimiter: ",",
    totalBytes: 0,
  };
}

const none = (): UpsertCounts => ({ inserted: 0, updated: 0, unchanged: 0 });

/**
 * Writes pushed records of one kind. Customers named by orders or refunds are created when new
 * (with no marketing consent). Throws only for a database failure; a record that fails a check
 * is returned in `rejected` with the same reason the CSV import would give, and the rest are written.
 */
export async function ingest(
  db: Database,
  kind: IngestKind,
  records: Record<string, unknown>[],
  options: { timeZone: string; now: Date; erasure?: ErasureSettings },
): Promise<IngestResult> {
  const table = asTable(records);
  const result: IngestResult = { received: records.length, written: none(), rejected: [], skippedErased: 0 };
  const suppression = await loadSuppressionList(db, options.erasure);
  // Records of people who asked to be forgotten are dropped before anything is written.
  const withoutErased = async <T>(items: T[], identify: (item: T) => { externalId?: string | null }) => {
    const { kept, suppressed } = await partitionSuppressed(db.prisma, suppression, items, identify);
    result.skippedErased += suppressed.length;
    return kept;
  };
  const reject = (line: number, reason: string) => result.rejected.push({ index: line - 1, reason });
  if (kind === "customers") {
    const planned = planColumns<CustomerField>(table.header, CUSTOMER_FIELDS, {}, ["externalId"]);
    if (!planned.ok) {
      for (const r of table.records) reject(r.line, planned.problems.join("; "));
      return result;
    }
    const parsed: CustomerRow[] = [];
    for (const r of table.records) {
      const row = customerFromCells(table.header, r.cells, planned.plan, options);
      if (row.ok) parsed.push(row.row);
      else reject(r.line, row.reason);
    }
    const rows = await withoutErased(parsed, (r) => r);
    result.written = await db.prisma.$transaction((tx) => upsertCustomers(tx, rows));
    return result;
  }
  if (kind === "refunds") {
    const parsed: RefundRow[] = [];
    const field = (r: Record<string, unknown>, ...names: string[]) => {
      for (const n of names)
        if (r[n] !== undefined && r[n] !== null && String(r[n]).trim() !== "") return String(r[n]).trim();
      return undefined;
    };
    records.forEach((r, i) => {
      const id = field(r, "external_id", "id", "refund_id");
      const amountText = field(r, "amount", "refunded_amount");
      const when = field(r, "refunded_at", "date", "created_at");
      if (!id) return reject(i + 1, "refund id is empty (external_id)");
      const amount = amountText === undefined ? null : parseNumber(amountText, ".");
      if (amount === null || amount <= 0) return reject(i + 1, `amount "${amountText ?? ""}" is not a positive number`);
      const at =
        when === undefined
          ? null
          : readDate(when, { kind: "iso", format: "ISO 8601", reason: "" }, options.timeZone, options.now);
      if (!at) return reject(i + 1, `date "${when ?? ""}" is not a date as ISO 8601`);
      const customer = field(r, "customer_id", "customer");
      parsed.push({
        externalId: normalizeId(id),
        customerExternalId: customer === undefined ? null : normalizeId(customer),
        orderExternalId: field(r, "order_id", "order_external_id") ?? null,
        refundedAt: at,
        amount: amount.toFixed(2),
      });
    });
    const rows = await withoutErased(parsed, (r) => ({ externalId: r.customerExternalId }));
    result.written = await db.prisma.$transaction(async (tx) => {
      await ensureCustomers(tx, [
        ...new Set(rows.flatMap((r) => (r.customerExternalId ? [r.customerExternalId] : []))),
      ]);
      return upsertRefunds(tx, rows);
    });
    await settlePurchaseStats(db);
    return result;
  }
  let prepared;
  try {
    prepared = prepareOrders(table, { timeZone: options.timeZone, now: options.now });
  } catch (error) {
    for (const r of table.records) reject(r.line, (error as Error).message.replace(/\s+/g, " "));
    return result;
  }
  for (const e of prepared.errors) reject(e.line, e.reason);
  const { anonymousSales } = prepared;
  const purchases = await withoutErased(prepared.purchases, (p) => ({ externalId: p.customerExternalId }));
  const refunds = await withoutErased(prepared.refunds, (r) => ({ externalId: r.customerExternalId }));
  await db.prisma.$transaction(async (tx) => {
    await ensureCustomers(tx, [
      ...new Set([
        ...purchases.map((p) => p.customerExternalId),
        ...refunds.flatMap((r) => (r.customerExternalId ? [r.customerExternalId] : [])),
      ]),
    ]);
    result.written = await upsertPurchases(tx, purchases);
    result.refunds = await upsertRefunds(tx, refunds);
    result.anonymousSales = await upsertAnonymousSales(tx, anonymousSales);
  });
  await settlePurchaseStats(db);
  return result;
}
