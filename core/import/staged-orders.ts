// Orders CSV files at database speed, of any size. The file is read as a stream and each row
// checked in TypeScript (that is where the line-numbered report comes from); good rows go by
// binary COPY into a temporary table. Everything after that is set-based SQL on one session:
// the file's shape, duplicate ids and customer conflicts, grouping lines into orders, refunds and
// their original orders, unknown customers, totals, and the upserts in batches of `batchSize`
// (each batch one transaction; with --strict all of them one transaction), purchases customer by
// customer (see BY_CUSTOMER).
//
// The date layout and the decimal mark are inferred from the whole file, as before: the rows
// are checked with the layout of the first rows while the inference goes on, and in the rare file
// whose later rows change the verdict the staged rows are dropped and the file read again.
import { randomBytes } from "node:crypto";
import { partitionSuppressed, type SuppressionList } from "../consent/suppression";
import type { Database, DatabaseSession } from "../db/client";
import { settlePurchaseStats } from "../db/purchase-stats";
import type { ColumnPlan, OrderField } from "./fields";
import { streamTable, TableError } from "./decode";
import type { ImportOptions, ImportReport, OrderTotals } from "./importer";
import { OrdersFileError, planOrderColumns, type OrderShape } from "./orders";
import { Rejections, MAX_REPORTED_ERRORS, type RowError } from "./rejections";
import { AbortedError, READ_SHARE, stagePass, type ReadSettings, type StagePass } from "./stage-order-lines";

/**
 * Rows per write transaction unless --batch-size says otherwise: each batch is one set-based
 * statement per table, so fewer, larger ones spend less on planning and triggers.
 */
export const STAGED_BATCH_ROWS = 50_000;

/** Memory for each sort or hash of the import's set-based statements. */
const IMPORT_WORK_MEM = "64MB";

/** Thrown for a file that can't be imported at all; the importer reports it as ImportFileError. */
export class StagedOrdersFileError extends Error {}

interface Tables {
  lines: string;
  heads: string;
  rejects: string;
  groups: string;
  missing: string;
}

/**
 * Imports an orders CSV into `report` (written counts, totals, preview, rejections). Throws
 * StagedOrdersFileError when the file can't be read or its columns or dates don't fit.
 */
export async function importOrdersStaged(
  db: Database,
  options: ImportOptions,
  report: ImportReport,
  rejections: Rejections,
  suppression: SuppressionList,
): Promise<void> {
  const open = () =>
    streamTable(options.file, { encoding: options.encoding, delimiter: options.delimiter }).catch((error: unknown) => {
      throw error instanceof TableError ? new StagedOrdersFileError(error.message) : error;
    });
  let table = await open();
  report.detected.encoding = `${table.encoding} (${table.encodingSource === "given" ? "given" : table.encodingSource === "bom" ? "byte order mark" : "detected"})`;
  report.detected.delimiter = table.delimiter === "\t" ? "tab" : table.delimiter;
  let columns;
  try {
    columns = planOrderColumns(table.header, options.map);
  } catch (error) {
    table.close();
    throw error instanceof OrdersFileError ? new StagedOrdersFileError(error.message) : error;
  }
  const { plan, mapping } = columns;
  const prefix = `import_${process.pid}_${randomBytes(4).toString("hex")}`;
  const t: Tables = {
    lines: `${prefix}_lines`,
    heads: `${prefix}_heads`,
    rejects: `${prefix}_rejects`,
    groups: `${prefix}_groups`,
    missing: `${prefix}_missing`,
  };
  const started = Date.now();
  const given: ReadSettings | null = options.dateFormat
    ? {
        dateLayout: { kind: "format", format: options.dateFormat, reason: "given with --date-format" },
        decimalMark: ".",
      }
    : null;

  let settle = false;
  await db.withSession(async (session) => {
    try {
      // The sorts and hashes over the whole file (distinct ids and customers, the grouping) fit
      // in memory instead of spilling to disk at the default 4 MB.
      await session.query(`SET work_mem = '${IMPORT_WORK_MEM}'`);
      // Each statement runs once over many rows, and its plan is simple: compiling it with LLVM
      // (a server's jit, on where a plan's cost passes 100,000) took longer than it saved.
      await session.query(`SET jit = off`);
      await session.query(`CREATE TEMP TABLE ${t.lines} (
        line int NOT NULL, order_id text, key text NOT NULL, numbered boolean NOT NULL, customer text,
        at timestamp NOT NULL, amount int8 NOT NULL, quantity float8 NOT NULL, refund boolean NOT NULL,
        cancelled boolean NOT NULL, refunded int8 NOT NULL, margin int8, product text, category text)`);
      // Kept up while the rows are staged, when the server mostly waits for the next rows (lines
      // arrive in order: each goes to the index's last page). The batches read the orders in line
      // ranges; a file of one-line orders becomes the orders table as it is (see groupOrders).
      await session.query(`CREATE UNIQUE INDEX ON ${t.lines} (line)`);
      let fixed: ReadSettings | null = null;
      let pass: StagePass;
      let reading: ReadSettings;
      for (;;) {
        pass = await stagePass(session, t.lines, table, plan, options, fixed, given, started);
        table.close();
        if (pass.aborted) {
          report.aborted = true;
          report.rows = pass.rows;
          return;
        }
        if (fixed) {
          reading = fixed;
          break;
        }
        const dates = given ? { ok: true as const, layout: given.dateLayout } : pass.final.dates!;
        if (!dates.ok) throw new StagedOrdersFileError(dates.problem);
        const final: ReadSettings = { dateLayout: dates.layout, decimalMark: pass.final.decimalMark };
        if (pass.used && sameReading(pass.used, final)) {
          reading = final;
          break;
        }
        // The later rows changed the verdict: read the file again with what the whole file says.
        await session.query(`TRUNCATE ${t.lines}`);
        fixed = final;
        table = await open();
      }
      report.detected.dateFormat = reading.dateLayout.format;
      report.detected.dateReason = reading.dateLayout.reason;
      report.detected.decimalMark = reading.decimalMark === "," ? "decimal comma" : "decimal point";
      report.rows = pass.rows;
      rejections.merge(pass.rejections);
      report.detected = { ...report.detected, mapping: mapping as Record<string, string> };

      const shape = await decideShape(session, t, plan, options.shape, pass.numbered > 0);
      report.detected = {
        encoding: report.detected.encoding,
        delimiter: report.detected.delimiter,
        shape: shape.shape,
        shapeReason: shape.reason,
        mapping: mapping as Record<string, string>,
        dateFormat: report.detected.dateFormat,
        dateReason: report.detected.dateReason,
        decimalMark: report.detected.decimalMark,
      };
      report.skippedErased = await groupOrders(
        session,
        t,
        shape,
        pass.staged,
        pass.refundLines > 0,
        options.createCustomers === true,
        suppression,
      );
      await reportSqlRejections(session, t, rejections);
      const { rows, ...totals } = await orderTotals(session, t);
      report.totals = totals;
      report.customersInFile = report.totals.customers + report.totals.refundOnlyCustomers;
      report.preview = await preview(session, t, rows);
      if (options.strict && rejections.count > 0) {
        report.refused = true;
        return;
      }
      if (options.dryRun) return;
      settle = true;
      await writeOrders(session, t, rows, options, report, table.totalBytes);
      report.marketableCustomers = await marketable(session, t);
    } finally {
      await dropTables(session, t);
      // PGlite's one session outlives the import.
      await session.query(`RESET work_mem`);
      await session.query(`RESET jit`);
    }
  });
  if (settle) await settlePurchaseStats(db);
}

function sameReading(a: ReadSettings, b: ReadSettings): boolean {
  return (
    a.dateLayout.kind === b.dateLayout.kind &&
    a.dateLayout.format === b.dateLayout.format &&
    a.decimalMark === b.decimalMark
  );
}

/** One row per product (repeated order ids) or one row per order, and why. */
async function decideShape(
  session: DatabaseSession,
  t: Tables,
  plan: ColumnPlan<OrderField>,
  forced: OrderShape | undefined,
  numbered: boolean,
): Promise<{ shape: OrderShape; reason: string; uniqueIds?: boolean }> {
  if (numbered)
    // Rows without an order id: numbered among identical rows, in file order, so that importing
    // the same file again finds the same keys.
    await session.query(`UPDATE ${t.lines} l SET key = l.key || ':' || n.n
      FROM (SELECT line, row_number() OVER (PARTITION BY key ORDER BY line) AS n FROM ${t.lines} WHERE numbered) n
      WHERE l.line = n.line`);
  if (forced) return { shape: forced, reason: `given with --${forced}` };
  if (plan.fields.externalId === undefined)
    return { shape: "orders", reason: "no order id column: each row is one order" };
  // Every id on one row when there are as many distinct 64-bit hashes of the ids as rows (never
  // more distinct ids than rows, never fewer than hashes). Sorting the integers cost a fraction of
  // grouping the text (PostgreSQL 15, 1,000,000 ids: 0.3 s against 1.8-2.7 s). Fewer hashes than
  // rows: ids repeat (or, about once in 10^7 files of a million rows, two ids share a hash), and
  // the distinct ids are counted exactly.
  const [hashed] = await session.query<{ rows: number; hashes: number }>(
    `SELECT count(order_id)::int AS rows, count(DISTINCT hashtextextended(order_id, 0))::int AS hashes FROM ${t.lines}`,
  );
  if (hashed!.hashes === hashed!.rows)
    return { shape: "orders", reason: "every order id is on one row: each row is one order", uniqueIds: !numbered };
  // The distinct ids by hashing (count(DISTINCT) sorts the text of the whole file).
  const [ids] = await session.query<{ rows: number; distinct: number }>(
    `SELECT coalesce(sum(n), 0)::int AS rows, count(*)::int AS distinct
       FROM (SELECT count(*) AS n FROM ${t.lines} WHERE order_id IS NOT NULL GROUP BY order_id) d`,
  );
  if (ids!.distinct < ids!.rows)
    return {
      shape: "lines",
      reason: `${ids!.rows.toLocaleString("en")} rows carry ${ids!.distinct.toLocaleString("en")} order ids: one row per product, grouped into orders`,
    };
  return { shape: "orders", reason: "every order id is on one row: each row is one order", uniqueIds: !numbered };
}

// An order from its lines. After the rejections an order's lines name one customer at most, so
// min() is it; a one-line order's category is its line's (orders of several lines: see below).
const GROUP_COLUMNS = `key, bool_or(refund) AS refund, min(customer) AS customer, min(at) AS at, sum(amount)::int8 AS amount,
  sum(abs(quantity)) AS quantity, max(refunded) AS refunded, bool_or(cancelled) AS cancelled, sum(margin)::int8 AS margin,
  count(*)::int AS lines, min(line) AS first_line, min(line) FILTER (WHERE customer IS NOT NULL) AS customer_line,
  CASE WHEN count(*) = 1 THEN min(category) END AS category, NULL::text AS original`;

/**
 * Groups the lines into orders; rejects duplicate ids (one row per order) or lines naming another
 * customer than their order's first (one row per product); finds each refund's original order;
 * drops the orders of customers who asked to be forgotten; and, unless customers are to be
 * created, rejects the orders of customers the store lacks.
 * @returns the file lines dropped for the suppression list
 */
async function groupOrders(
  session: DatabaseSession,
  t: Tables,
  decided: { shape: OrderShape; uniqueIds?: boolean },
  staged: number,
  refunds: boolean,
  createCustomers: boolean,
  suppression: SuppressionList,
): Promise<number> {
  const q = (sql: string) => session.query(sql);
  const shape = decided.shape;
  await q(
    `CREATE TEMP TABLE ${t.rejects} (line int NOT NULL, key text NOT NULL, kind text NOT NULL, reason text NOT NULL)`,
  );
  // Every row its own order (each order id once, every row has one and none is a returned line,
  // so the keys are the ids and no quantity is negative): the lines are the orders as they are.
  // The staged table becomes the orders table, renamed rather than copied, with its line index.
  const singleLines = decided.uniqueIds === true && !refunds;
  if (singleLines) {
    await q(`ALTER TABLE ${t.lines} RENAME COLUMN line TO first_line`);
    // Columns with a constant default cost no rewrite; customer_line is read for orders of several lines only.
    await q(`ALTER TABLE ${t.lines} ADD COLUMN lines int NOT NULL DEFAULT 1, ADD COLUMN original text`);
    await q(`ALTER TABLE ${t.lines} RENAME TO ${t.groups}`);
  } else await q(`CREATE TEMP TABLE ${t.groups} AS SELECT ${GROUP_COLUMNS} FROM ${t.lines} GROUP BY key`);
  const count = async () =>
    (await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.groups}`))[0]?.n ?? 0;
  const multiLine = !singleLines && (await count()) < staged;
  if (multiLine) {
    await q(`CREATE TEMP TABLE ${t.heads} AS SELECT key, first_line, customer_line FROM ${t.groups} WHERE lines > 1`);
    if (shape === "orders")
      await q(`INSERT INTO ${t.rejects}
        SELECT l.line, l.key, 'duplicate', 'duplicate order id "' || left(l.key, 60) || '" (first on line ' || h.first_line || ')'
          FROM ${t.lines} l JOIN ${t.heads} h USING (key) WHERE l.line <> h.first_line`);
    else
      await q(`INSERT INTO ${t.rejects}
        SELECT l.line, l.key, 'customer', 'order "' || left(l.key, 60) || '" is for customer "' || left(c.customer, 40)
               || '" on line ' || h.first_line || ', not "' || left(l.customer, 40) || '"'
          FROM ${t.lines} l JOIN ${t.heads} h USING (key) JOIN ${t.lines} c ON c.line = h.customer_line
         WHERE l.customer IS NOT NULL AND l.customer <> c.customer`);
    const [rejected] = await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.rejects}`);
    if (rejected?.n) {
      // Those orders again, from the lines that are left.
      await q(`DELETE FROM ${t.lines} l USING ${t.rejects} r WHERE l.line = r.line`);
      await q(`DELETE FROM ${t.groups} WHERE key IN (SELECT key FROM ${t.rejects})`);
      await q(`INSERT INTO ${t.groups} SELECT ${GROUP_COLUMNS} FROM ${t.lines}
        WHERE key IN (SELECT key FROM ${t.rejects}) GROUP BY key`);
    }
    // An order of several lines: its most frequent category, the earliest first on a tie.
    await q(`UPDATE ${t.groups} g SET category = c.category FROM (
        SELECT DISTINCT ON (key) key, category FROM (
          SELECT key, category, count(*) AS n, min(line) AS first_line FROM ${t.lines}
           WHERE category IS NOT NULL AND key IN (SELECT key FROM ${t.heads}) GROUP BY key, category) s
         ORDER BY key, n DESC, first_line) c
      WHERE g.key = c.key AND g.lines > 1`);
  }
  if (refunds) await findOriginalOrders(session, t);
  const skipped = await skipErased(session, t, suppression);
  if (!createCustomers) {
    await q(`CREATE TEMP TABLE ${t.missing} AS SELECT DISTINCT customer FROM ${t.groups} g
      WHERE customer IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_id = g.customer)`);
    const [missing] = await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.missing}`);
    if (missing?.n) {
      // Every line of those orders (of a file of one-line orders, the orders themselves).
      const lines = singleLines ? `(SELECT key, first_line AS line FROM ${t.groups})` : t.lines;
      await q(`INSERT INTO ${t.rejects}
        SELECT l.line, l.key, 'unknown', 'unknown customer "' || left(g.customer, 60) || '" (import customers first, or use --create-customers)'
          FROM ${t.groups} g JOIN ${t.missing} m USING (customer) JOIN ${lines} l USING (key)`);
      await q(`DELETE FROM ${t.groups} WHERE customer IN (SELECT customer FROM ${t.missing})`);
    }
  }
  if (!singleLines) await q(`CREATE UNIQUE INDEX ON ${t.groups} (first_line)`);
  // Temporary tables get no automatic statistics: without them the batches' range scans are planned
  // blind. Only the columns the batches select and join on (the sample of every text column cost
  // more), from a sample of 3,000 rows (statistics target 10) instead of 30,000: enough for the
  // line ranges and the customers' count.
  await q(
    `ALTER TABLE ${t.groups} ${["first_line", "refund", "customer"].map((c) => `ALTER COLUMN ${c} SET STATISTICS 10`).join(", ")}`,
  );
  await q(`ANALYZE ${t.groups} (first_line, refund, customer)`);
  return skipped;
}

/**
 * Drops the orders and refunds of customers who asked to be forgotten: customer numbers the store
 * lacks (erasure deleted their row) whose digest is on the suppression list. Nothing of theirs is
 * written and no customer is created for them; they are not rejections either.
 * @returns the file lines dropped
 */
async function skipErased(session: DatabaseSession, t: Tables, suppression: SuppressionList): Promise<number> {
  if (suppression.empty) return 0;
  const absent = await session.query<{ customer: string }>(
    `SELECT DISTINCT customer FROM ${t.groups} g
      WHERE customer IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_id = g.customer)`,
  );
  const { suppressed } = await partitionSuppressed(session, suppression, absent, (r) => ({ externalId: r.customer }));
  if (suppressed.length === 0) return 0;
  const erased = suppressed.map((r) => r.customer);
  const [dropped] = await session.query<{ n: number }>(
    `WITH d AS (DELETE FROM ${t.groups} WHERE customer = ANY($1::text[]) RETURNING lines)
     SELECT coalesce(sum(lines), 0)::int AS n FROM d`,
    [erased],
  );
  return dropped?.n ?? 0;
}

/**
 * The order a refund gives money back on, where it can be told: the id without its "C" prefix,
 * the order its returned lines came from (same customer, or both anonymous), or else the
 * customer's latest order before it with one of the same products.
 */
async function findOriginalOrders(session: DatabaseSession, t: Tables): Promise<void> {
  const q = (sql: string) => session.query(sql);
  await q(`CREATE UNIQUE INDEX ON ${t.groups} (key)`);
  await q(`UPDATE ${t.groups} r SET original = coalesce(
      (SELECT o.key FROM ${t.groups} o WHERE o.key = regexp_replace(r.key, '^C(?=\\d)', '', 'i') AND o.key <> r.key
          AND NOT o.refund AND o.customer IS NOT DISTINCT FROM r.customer),
      (SELECT o.key FROM ${t.groups} o WHERE o.key = regexp_replace(r.key, ':return$', '') AND o.key <> r.key
          AND NOT o.refund AND o.customer IS NOT DISTINCT FROM r.customer))
    WHERE r.refund`);
  const [left] = await session.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${t.groups} WHERE refund AND original IS NULL AND customer IS NOT NULL`,
  );
  if (!left?.n) return;
  await q(`CREATE INDEX ON ${t.groups} (customer)`);
  await q(`CREATE INDEX ON ${t.lines} (key)`);
  await q(`ANALYZE ${t.groups}`);
  await q(`ANALYZE ${t.lines}`);
  await q(`UPDATE ${t.groups} r SET original = (
      SELECT o.key FROM ${t.groups} o
       WHERE o.customer = r.customer AND NOT o.refund AND o.at <= r.at
         AND EXISTS (SELECT 1 FROM ${t.lines} ol JOIN ${t.lines} rl ON rl.product = ol.product
                      WHERE ol.key = o.key AND rl.key = r.key)
       ORDER BY o.at DESC, o.first_line LIMIT 1)
    WHERE r.refund AND r.original IS NULL AND r.customer IS NOT NULL`);
}

/** Adds the rows SQL rejected: a count per reason, the first lines kept for the report. */
async function reportSqlRejections(session: DatabaseSession, t: Tables, rejections: Rejections): Promise<void> {
  const kinds = await session.query<{ kind: string; n: number; line: number; reason: string }>(
    `SELECT DISTINCT ON (kind) kind, count(*) OVER (PARTITION BY kind)::int AS n, line, reason
       FROM ${t.rejects} ORDER BY kind, line`,
  );
  if (kinds.length === 0) return;
  const first = await session.query<RowError & { kind: string }>(
    `SELECT line, reason, kind FROM ${t.rejects} ORDER BY line LIMIT ${MAX_REPORTED_ERRORS}`,
  );
  for (const k of kinds)
    rejections.addCounted(
      { line: k.line, reason: k.reason },
      k.n,
      first.filter((e) => e.kind === k.kind).map(({ line, reason }) => ({ line, reason })),
    );
}

// Amounts are integers in 1/10,000 of the unit: rounded to whole cents (half away from zero) in
// integers, then made numeric once.
const CENTS = (e4: string) => `((abs(${e4}) + 50) / 100)`;
const MONEY = (e4: string) => `(${CENTS(e4)}::numeric * 0.01)::numeric(14, 2)`;
// Whole quantities (nearly all) without a conversion to numeric; others rounded half away from zero.
const QUANTITY = `CASE WHEN quantity = trunc(quantity) THEN quantity::int ELSE round(quantity::numeric)::int END`;
// A cancelled order counts as sold and refunded in full; a refunded amount as a refund of it.
const REFUNDED = `CASE WHEN cancelled THEN amount ELSE least(refunded, amount) END`;

/**
 * What the store gets from the orders, each kind as the rows of the groups table it comes from
 * (`where`) and the columns it writes (`columns`). Written in file order (of each order's first
 * line); an order's refund or cancellation comes before the refund rows.
 */
const OUTPUTS = {
  purchases: {
    where: `NOT refund AND customer IS NOT NULL`,
    columns: `key, customer, at, ${MONEY("amount")} AS amount,
      CASE WHEN margin IS NOT NULL THEN sign(margin)::numeric * ${MONEY("margin")} END AS gross_margin,
      ${QUANTITY} AS quantity, category, lines`,
  },
  orderRefunds: {
    where: `NOT refund AND ${REFUNDED} > 0`,
    columns: `key || CASE WHEN cancelled THEN ':cancelled' ELSE ':refund' END AS key, customer, key AS original, at,
      ${MONEY(REFUNDED)} AS amount, CASE WHEN cancelled THEN ${QUANTITY} ELSE 0 END AS quantity`,
  },
  refunds: {
    where: `refund`,
    columns: `key, customer, original, at, ${MONEY("amount")} AS amount, ${QUANTITY} AS quantity`,
  },
  anonymous: {
    where: `NOT refund AND customer IS NULL`,
    columns: `key, at, ${MONEY("amount")} AS amount, ${QUANTITY} AS quantity, lines, category`,
  },
} as const;
type Output = keyof typeof OUTPUTS;

const outputRows = (t: Tables, kind: Output) =>
  `SELECT ${OUTPUTS[kind].columns}, first_line FROM ${t.groups} WHERE ${OUTPUTS[kind].where}`;

const fromCents = (c: number) => (c / 100).toFixed(2);

async function orderTotals(
  session: DatabaseSession,
  t: Tables,
): Promise<OrderTotals & { rows: Record<Output, number> }> {
  const [row] = await session.query<{
    orders: number;
    customers: number;
    file_customers: number;
    gross: string;
    order_refunds: number;
    refund_rows: number;
    refunds: string;
    refund_count: number;
    linked: number;
    anonymous: number;
    anonymous_gross: string;
    anonymous_refunds: string;
  }>(`SELECT * FROM (SELECT
      count(*) FILTER (WHERE ${OUTPUTS.purchases.where})::int AS orders,
      coalesce(sum(${CENTS("amount")}) FILTER (WHERE ${OUTPUTS.purchases.where}), 0)::text AS gross,
      count(*) FILTER (WHERE ${OUTPUTS.orderRefunds.where})::int AS order_refunds,
      count(*) FILTER (WHERE ${OUTPUTS.refunds.where})::int AS refund_rows,
      (coalesce(sum(${CENTS(REFUNDED)}) FILTER (WHERE ${OUTPUTS.orderRefunds.where} AND customer IS NOT NULL), 0)
        + coalesce(sum(${CENTS("amount")}) FILTER (WHERE refund AND customer IS NOT NULL), 0))::text AS refunds,
      count(*) FILTER (WHERE customer IS NOT NULL AND (refund OR ${OUTPUTS.orderRefunds.where}))::int AS refund_count,
      count(*) FILTER (WHERE ${OUTPUTS.orderRefunds.where} OR (refund AND original IS NOT NULL))::int AS linked,
      count(*) FILTER (WHERE ${OUTPUTS.anonymous.where})::int AS anonymous,
      coalesce(sum(${CENTS("amount")}) FILTER (WHERE ${OUTPUTS.anonymous.where}), 0)::text AS anonymous_gross,
      (coalesce(sum(${CENTS(REFUNDED)}) FILTER (WHERE ${OUTPUTS.orderRefunds.where} AND customer IS NULL), 0)
        + coalesce(sum(${CENTS("amount")}) FILTER (WHERE refund AND customer IS NULL), 0))::text AS anonymous_refunds
    FROM ${t.groups}) s,
      -- the customers by hashing (count(DISTINCT) sorts the whole file)
      (SELECT count(*) FILTER (WHERE ordered)::int AS customers, count(*)::int AS file_customers
         FROM (SELECT bool_or(NOT refund) AS ordered FROM ${t.groups} WHERE customer IS NOT NULL GROUP BY customer) o) c`);
  const r = row!;
  // Sums of whole cents (exact integers as text).
  const gross = Number(r.gross);
  const refunded = Number(r.refunds);
  const anonymousGross = Number(r.anonymous_gross);
  const anonymousRefunds = Number(r.anonymous_refunds);
  return {
    orders: r.orders,
    customers: r.customers,
    refundOnlyCustomers: r.file_customers - r.customers,
    gross: fromCents(gross),
    refunds: fromCents(refunded),
    refundCount: r.refund_count,
    refundsLinkedToOrder: r.linked,
    net: fromCents(gross - refunded),
    anonymousSales: r.anonymous,
    anonymousGross: fromCents(anonymousGross),
    anonymousRefunds: fromCents(anonymousRefunds),
    totalNet: fromCents(gross - refunded + anonymousGross - anonymousRefunds),
    rows: { purchases: r.orders, orderRefunds: r.order_refunds, refunds: r.refund_rows, anonymous: r.anonymous },
  };
}

const ISO = `to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The first rows of each kind as stored; a kind the file has none of is not looked for (each look scans the file). */
async function preview(
  session: DatabaseSession,
  t: Tables,
  rows: Record<Output, number>,
): Promise<Record<string, unknown>[]> {
  const purchases = await session.query<Record<string, unknown>>(
    `SELECT 'purchase' AS kind, key AS order, customer, ${ISO} AS at, amount::text AS amount, lines, quantity
       FROM (${outputRows(t, "purchases")}) p ORDER BY first_line LIMIT 5`,
  );
  const refunds =
    rows.orderRefunds + rows.refunds === 0
      ? []
      : await session.query<Record<string, unknown>>(
          `SELECT 'refund' AS kind, key AS refund, customer, original AS order, ${ISO} AS at, amount::text AS amount FROM (
             SELECT 0 AS source, * FROM (${outputRows(t, "orderRefunds")}) a
             UNION ALL SELECT 1, * FROM (${outputRows(t, "refunds")}) b) r
           ORDER BY source, first_line LIMIT 3`,
        );
  const anonymous =
    rows.anonymous === 0
      ? []
      : await session.query<Record<string, unknown>>(
          `SELECT 'anonymous sale' AS kind, key AS order, ${ISO} AS at, amount::text AS amount, lines
             FROM (${outputRows(t, "anonymous")}) a ORDER BY first_line LIMIT 2`,
        );
  return [...purchases, ...refunds, ...anonymous];
}

/** How each kind is upserted from a batch of its rows (`i`), counting what was inserted and written. */
const UPSERTS: Record<Output, { into: "written" | "refundsWritten" | "anonymousWritten"; sql: string }> = {
  purchases: { into: "written", sql: "" }, // see writePurchases
  orderRefunds: { into: "refundsWritten", sql: "" },
  refunds: {
    into: "refundsWritten",
    sql: `INSERT INTO refunds AS r (external_id, customer_id, order_external_id, refunded_at, amount, quantity)
      SELECT i.key, c.id, i.original, i.at, i.amount, i.quantity
        FROM i LEFT JOIN customers c ON c.external_id = i.customer
       WHERE i.customer IS NULL OR c.id IS NOT NULL
      ON CONFLICT (external_id) DO UPDATE SET
        customer_id = excluded.customer_id, order_external_id = excluded.order_external_id,
        refunded_at = excluded.refunded_at, amount = excluded.amount, quantity = excluded.quantity
      WHERE (r.customer_id, r.order_external_id, r.refunded_at, r.amount, r.quantity)
        IS DISTINCT FROM (excluded.customer_id, excluded.order_external_id, excluded.refunded_at, excluded.amount, excluded.quantity)`,
  },
  anonymous: {
    into: "anonymousWritten",
    sql: `INSERT INTO anonymous_sales AS a (external_id, sold_at, amount, quantity, lines, category)
      SELECT i.key, i.at, i.amount, i.quantity, i.lines, i.category FROM i
      ON CONFLICT (external_id) DO UPDATE SET
        sold_at = excluded.sold_at, amount = excluded.amount, quantity = excluded.quantity,
        lines = excluded.lines, category = excluded.category
      WHERE (a.sold_at, a.amount, a.quantity, a.lines, a.category)
        IS DISTINCT FROM (excluded.sold_at, excluded.amount, excluded.quantity, excluded.lines, excluded.category)`,
  },
};
UPSERTS.orderRefunds.sql = UPSERTS.refunds.sql;

/**
 * Whether this session may turn off the purchases' triggers for its own inserts
 * (`session_replication_role`, a superuser setting, as pg_restore --disable-triggers does):
 * always on PGlite, on a server when connected as a superuser.
 */
async function mayLoadWithoutTriggers(session: DatabaseSession): Promise<boolean> {
  const [row] = await session.query<{ on: boolean }>(`SELECT current_setting('is_superuser') = 'on' AS on`);
  return row?.on === true;
}

/** How the batches of one import write purchases; `overlap` is set once a batch met stored orders. */
interface PurchaseWrite {
  /** May turn off the purchases' triggers for its own inserts (see mayLoadWithoutTriggers). */
  loadRole: boolean;
  overlap: boolean;
}

const UNIQUE_VIOLATION = "23505";

/**
 * One batch of purchases (`range`: the CTE `i`). Until a batch meets orders stored before, its
 * rows go in by a plain INSERT under a savepoint: ON CONFLICT's speculative insertion cost about
 * two thirds as much again as the insert itself (PostgreSQL 15, 50,000 rows: 0.50 s of CPU
 * against 0.29 s). The first batch that meets a stored order fails on its unique id, is rolled
 * back to the savepoint and written as follows, and so is every later batch of the file: new
 * orders inserted with ON CONFLICT DO NOTHING, then, when some were stored before, the changed
 * ones updated as any write is (foreign key and triggers per row).
 *
 * Either way, where the session may (`loadRole`), the inserts go without the per-row foreign-key
 * check and the statement triggers, which cost about as much as the rows themselves. What they
 * did is done set-based instead, in the same statement: the batch's customers are locked once
 * (FOR KEY SHARE, as the foreign-key check locks each row's) so none is deleted before the commit,
 * and their purchase totals are noted for recounting as the triggers note them.
 */
async function writePurchases(
  s: DatabaseSession,
  range: string,
  params: readonly unknown[],
  batchRows: number,
  write: PurchaseWrite,
): Promise<{ inserted: number; written: number }> {
  const { loadRole } = write;
  const columns = `purchases (external_id, customer_id, purchased_at, amount, gross_margin, quantity, category, lines)`;
  const rows = `SELECT i.key, c.id, i.at, i.amount, i.gross_margin, i.quantity, i.category, i.lines FROM i JOIN c ON c.external_id = i.customer`;
  const locked = `c AS MATERIALIZED (SELECT id, external_id FROM customers WHERE external_id IN (SELECT customer FROM i) FOR KEY SHARE)`;
  if (loadRole) await s.query(`SET LOCAL session_replication_role = replica`);
  if (!write.overlap) {
    await s.query(`SAVEPOINT new_purchases`);
    try {
      // Every row inserted: the batch's customers are exactly those whose totals change.
      const [inserted] = await s.query<{ n: number }>(
        `${range}, ${locked},${loadRole ? `\n n AS (INSERT INTO customer_purchase_stats_pending (customer_id) SELECT id FROM c),` : ""}
         w AS (INSERT INTO ${columns} ${rows} RETURNING 1)
         SELECT count(*)::int AS n FROM w`,
        params,
      );
      await s.query(`RELEASE SAVEPOINT new_purchases`);
      if (loadRole) await s.query(`SET LOCAL session_replication_role = origin`);
      return { inserted: inserted!.n, written: inserted!.n };
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      await s.query(`ROLLBACK TO SAVEPOINT new_purchases`);
      write.overlap = true;
    }
  }
  const [inserted] = await s.query<{ n: number }>(
    `${range}, ${locked},
     w AS (INSERT INTO ${columns} ${rows}
           ON CONFLICT (external_id) DO NOTHING
           RETURNING customer_id)${
             loadRole
               ? `,
     n AS (INSERT INTO customer_purchase_stats_pending (customer_id) SELECT DISTINCT customer_id FROM w)`
               : ""
           }
     SELECT count(*)::int AS n FROM w`,
    params,
  );
  if (loadRole) await s.query(`SET LOCAL session_replication_role = origin`);
  if (inserted!.n === batchRows) return { inserted: batchRows, written: batchRows };
  // Orders stored before: the changed ones updated (the rows just inserted are unchanged).
  const [updated] = await s.query<{ n: number }>(
    `${range}, u AS (
       UPDATE purchases p SET customer_id = c.id, purchased_at = i.at, amount = i.amount, gross_margin = i.gross_margin,
              quantity = i.quantity, category = i.category, lines = i.lines
         FROM i JOIN customers c ON c.external_id = i.customer
        WHERE p.external_id = i.key
          AND (p.customer_id, p.purchased_at, p.amount, p.gross_margin, p.quantity, p.category, p.lines)
              IS DISTINCT FROM (c.id, i.at, i.amount, i.gross_margin, i.quantity, i.category, i.lines)
       RETURNING 1)
     SELECT count(*)::int AS n FROM u`,
    params,
  );
  return { inserted: inserted!.n, written: inserted!.n + updated!.n };
}

/**
 * The order a kind's batches take its rows in (`orderBy`, which an index on the groups table
 * serves; in parentheses, the row value a batch's bounds are compared with), and the columns that
 * make it up, with their types.
 */
interface BatchOrder {
  orderBy: string;
  columns: { name: string; type: string }[];
}

/** File order (of each order's first line): the line index serves it. */
const BY_LINE: BatchOrder = {
  orderBy: "first_line",
  columns: [{ name: "first_line", type: "int" }],
};

/**
 * Purchases by customer, then file order. A batch of purchases locks its customers and notes
 * them for recounting once each (see writePurchases): cut in file order, where a customer's orders
 * are spread over the whole file, nearly every row of a batch is another customer and every batch
 * locks and notes most of them again (1,000,000 purchases of 100,000 customers in batches of
 * 50,000: 1,000,000 locks and notes); cut by customer, each customer is locked and noted in one
 * batch, or two where a batch ends among their orders. The C collation: byte order, the cheapest
 * to sort, and the same on every server.
 */
const BY_CUSTOMER: BatchOrder = {
  orderBy: `customer COLLATE "C", first_line`,
  columns: [
    { name: "customer", type: "text" },
    { name: "first_line", type: "int" },
  ],
};

/** `key > (after)` and `key <= (last)` with their parameters, for the rows of one batch. */
function batchRange(order: BatchOrder, after: unknown[] | null, last: unknown[] | null) {
  const params: unknown[] = [];
  const bound = (values: unknown[]) =>
    `(${order.columns.map((c, k) => `$${params.push(values[k])}::${c.type}`).join(", ")})`;
  const where = [
    ...(after ? [`(${order.orderBy}) > ${bound(after)}`] : []),
    ...(last ? [`(${order.orderBy}) <= ${bound(last)}`] : []),
  ];
  return { where: where.map((w) => ` AND ${w}`).join(""), params };
}

/**
 * Upserts the purchases, refunds and anonymous sales in batches of `batchSize` rows, each batch
 * one transaction unless the whole write is one (--strict). Refunds and anonymous sales go in file
 * order; purchases by customer when they take more than one batch (see BY_CUSTOMER).
 */
async function writeOrders(
  session: DatabaseSession,
  t: Tables,
  rows: Record<Output, number>,
  options: ImportOptions,
  report: ImportReport,
  totalBytes: number,
): Promise<void> {
  const batchSize = options.batchSize ?? STAGED_BATCH_ROWS;
  const purchaseWrite: PurchaseWrite = { loadRole: await mayLoadWithoutTriggers(session), overlap: false };
  const total = rows.purchases + rows.orderRefunds + rows.refunds + rows.anonymous;
  const started = Date.now();
  let done = 0;
  const orders: Record<Output, BatchOrder> = {
    purchases: rows.purchases > batchSize ? BY_CUSTOMER : BY_LINE,
    orderRefunds: BY_LINE,
    refunds: BY_LINE,
    anonymous: BY_LINE,
  };
  if (orders.purchases === BY_CUSTOMER)
    await session.query(`CREATE INDEX ON ${t.groups} (${BY_CUSTOMER.orderBy}) WHERE ${OUTPUTS.purchases.where}`);
  const writeBatch = async (s: DatabaseSession, kind: Output, where: string, params: unknown[], batchRows: number) => {
    const range = `WITH i AS MATERIALIZED (${outputRows(t, kind)}${where})`;
    if (options.createCustomers && kind !== "anonymous") {
      const [created] = await s.query<{ n: number }>(
        `${range}, c AS (INSERT INTO customers (external_id, marketing_consent)
           SELECT DISTINCT customer, false FROM i WHERE customer IS NOT NULL
           ON CONFLICT (external_id) DO NOTHING RETURNING 1)
         SELECT count(*)::int AS n FROM c`,
        params,
      );
      report.customersCreated += created!.n;
    }
    const [row] =
      kind === "purchases"
        ? [await writePurchases(s, range, params, batchRows, purchaseWrite)]
        : await s.query<{ inserted: number; written: number }>(
            `${range}, w AS (${UPSERTS[kind].sql} RETURNING (xmax = 0) AS inserted)
             SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*)::int AS written FROM w`,
            params,
          );
    const into = report[UPSERTS[kind].into];
    into.inserted += row!.inserted;
    into.updated += row!.written - row!.inserted;
    into.unchanged += batchRows - row!.written;
  };
  const strict = options.strict === true;
  const all = async (s: DatabaseSession) => {
    for (const kind of ["purchases", "orderRefunds", "refunds", "anonymous"] as const) {
      const order = orders[kind];
      const names = order.columns.map((c) => c.name);
      // The key of the last row written (null before the first batch).
      let after: unknown[] | null = null;
      for (let left = rows[kind]; left > 0;) {
        const n = Math.min(batchSize, left);
        // The batch's last row; the last batch takes all that is left.
        let last: unknown[] | null = null;
        if (n < left) {
          const { where, params } = batchRange(order, after, null);
          const [row] = await s.query<Record<string, unknown>>(
            `SELECT ${names.join(", ")} FROM ${t.groups} WHERE ${OUTPUTS[kind].where}${where}
              ORDER BY ${order.orderBy} OFFSET ${n - 1} LIMIT 1`,
            params,
          );
          if (!row) throw new Error(`${kind}: fewer rows to write than counted (${rows[kind]})`);
          last = names.map((name) => row[name]);
        }
        const { where, params } = batchRange(order, after, last);
        if (strict) await writeBatch(s, kind, where, params, n);
        else await s.transaction((tx) => writeBatch(tx, kind, where, params, n));
        after = last;
        left -= n;
        done += n;
        options.onProgress?.({
          rows: Math.round((done / Math.max(total, 1)) * report.rows),
          bytes: Math.round((READ_SHARE + (1 - READ_SHARE) * (done / Math.max(total, 1))) * totalBytes),
          totalBytes,
          elapsedMs: Date.now() - started,
        });
        if (options.signal?.aborted) {
          if (strict) throw new AbortedError();
          report.aborted = true;
          return;
        }
      }
    }
  };
  if (!strict) return all(session);
  // --strict: the whole file in one transaction; Ctrl-C rolls all of it back.
  await session.transaction(all).catch((error: unknown) => {
    if (!(error instanceof AbortedError)) throw error;
    report.aborted = true;
    report.written = { inserted: 0, updated: 0, unchanged: 0 };
    report.refundsWritten = { inserted: 0, updated: 0, unchanged: 0 };
    report.anonymousWritten = { inserted: 0, updated: 0, unchanged: 0 };
    report.customersCreated = 0;
  });
}

/** The file's customers that may receive marketing. */
async function marketable(session: DatabaseSession, t: Tables): Promise<number> {
  const [row] = await session.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM customers
      WHERE external_id IN (SELECT customer FROM ${t.groups} WHERE customer IS NOT NULL)
        AND marketing_consent AND opted_out_at IS NULL AND erased_at IS NULL`,
  );
  return row?.n ?? 0;
}

// A server drops temporary tables with the session; PGlite's one session outlives the import.
async function dropTables(session: DatabaseSession, t: Tables): Promise<void> {
  await session.query(`DROP TABLE IF EXISTS ${Object.values(t).join(", ")}`);
}
