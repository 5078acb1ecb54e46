// Per-customer behaviour features, computed set-based in SQL as of any date. Everything that
// happened at or after `asOf` is ignored (the leakage guard), so training can use a past cut-off.
// The same SQL runs on PGlite and PostgreSQL.
import type { Database } from "../db/client";
import { analyzeGrownTables } from "../db/planner-statistics";
import { settlePurchaseStats } from "../db/purchase-stats";

const DAY_SECONDS = 86_400;

/** How one customer attribute (from `customers.attributes`) becomes a numeric feature. */
export type AttributeFeature =
  | { kind: "numeric"; key: string; name: string; impute: number }
  | { kind: "boolean"; key: string; name: string }
  | { kind: "level"; key: string; level: string; name: string };

/** Everything the database knows about one customer as of the cut-off. Days are fractional. */
export interface CustomerFeatures {
  customerId: number;
  /** Days since the last purchase; null without any purchase. */
  recencyDays: number | null;
  /** Repeat purchases: distinct purchase days minus one (BG/NBD's x). */
  frequency: number;
  purchaseCount: number;
  /** Days since the first purchase or sign-up, whichever is earlier. */
  tenureDays: number;
  /** Mean order value; null without purchases. */
  monetaryMean: number | null;
  monetaryTotal: number;
  /** Items bought: the purchases' quantities summed (1 per purchase where a store has none). */
  itemCount: number;
  /** Mean days between purchase days; null with fewer than two. */
  meanGapDays: number | null;
  /** recencyDays / meanGapDays: above 1 means the next purchase is overdue. */
  overdueRatio: number | null;
  spendLast90: number;
  spendPrev90: number;
  /** (last 90 days - previous 90) / (sum of both), in [-1, 1]; null when both are zero. */
  spendTrend: number | null;
  /** Gross margin / revenue over purchases with a known margin; null when none is known. */
  marginShare: number | null;
  npsLatest: number | null;
  csatLatest: number | null;
  complaints90: number;
  complaintsTotal: number;
  offersReceived: number;
  offersDeclined: number;
  /** BG/NBD summary in days: repeat purchase days, time of last purchase, age (from first purchase). */
  x: number;
  tx: number;
  T: number;
  /** Values aligned with the attribute spec the features were computed with. */
  attributes: number[];
}

/** Customers per feature query unless a caller says otherwise. */
export const FEATURE_BATCH = 50_000;

export interface FeatureOptions {
  asOf: Date;
  /** The attribute columns to compute; discovered from the data when omitted. */
  attributeSpec?: AttributeFeature[];
  /** Customers per query (keyset pagination on customer id; default {@link FEATURE_BATCH}). */
  batchSize?: number;
  /** Where the purchase aggregates come from; by default the cheapest valid one ({@link purchaseSource}). */
  source?: PurchaseSource;
  /** Only these customers (a sample drawn in SQL, see {@link sampleCustomerIds}); all when omitted. */
  customerIds?: readonly number[];
}

/**
 * Finds the customer attributes worth using as features from a sample of customers: numbers
 * (imputed with their mean), booleans, and the most frequent levels of text attributes.
 */
export async function discoverAttributes(
  db: Database,
  options: { sample?: number; maxLevels?: number; minShare?: number; maxFeatures?: number } = {},
): Promise<AttributeFeature[]> {
  const sample = options.sample ?? 20_000;
  const maxLevels = options.maxLevels ?? 5;
  const minShare = options.minShare ?? 0.01;
  const rows = await db.prisma.$queryRawUnsafe<
    { key: string; type: string; level: string | null; n: number; mean: number | null; total: number }[]
  >(
    `WITH c AS (SELECT attributes FROM customers WHERE erased_at IS NULL ORDER BY id LIMIT $1)
     SELECT e.key, jsonb_typeof(e.value) AS type,
            CASE WHEN jsonb_typeof(e.value) = 'string' THEN e.value #>> '{}' END AS level,
            count(*)::int AS n,
            avg(CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{}')::float8 END)::float8 AS mean,
            (SELECT count(*) FROM c)::int AS total
       FROM c, jsonb_each(CASE WHEN jsonb_typeof(c.attributes) = 'object' THEN c.attributes ELSE '{}'::jsonb END) e
      GROUP BY 1, 2, 3
      ORDER BY 1, 4 DESC, 3`,
    sample,
  );
  const spec: AttributeFeature[] = [];
  const levelsTaken = new Map<string, number>();
  for (const row of rows) {
    if (row.n < Math.max(1, minShare * row.total)) continue;
    if (row.type === "number")
      spec.push({ kind: "numeric", key: row.key, name: `attr:${row.key}`, impute: row.mean ?? 0 });
    else if (row.type === "boolean") spec.push({ kind: "boolean", key: row.key, name: `attr:${row.key}` });
    else if (row.type === "string" && row.level !== null) {
      const taken = levelsTaken.get(row.key) ?? 0;
      if (taken >= maxLevels) continue;
      levelsTaken.set(row.key, taken + 1);
      spec.push({ kind: "level", key: row.key, level: row.level, name: `attr:${row.key}=${row.level}` });
    }
  }
  return spec.slice(0, options.maxFeatures ?? 40);
}

function attributeSql(spec: AttributeFeature[], firstParam: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const param = (value: string) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const parts = spec.map((f) => {
    const k = param(f.key);
    switch (f.kind) {
      case "numeric":
        return `CASE WHEN jsonb_typeof(c.attributes -> ${k}::text) = 'number' THEN (c.attributes ->> ${k}::text)::float8 ELSE ${Number(f.impute) || 0}::float8 END`;
      case "boolean":
        return `CASE WHEN c.attributes ->> ${k}::text = 'true' THEN 1::float8 ELSE 0::float8 END`;
      case "level":
        return `CASE WHEN c.attributes ->> ${k}::text = ${param(f.level)}::text THEN 1::float8 ELSE 0::float8 END`;
    }
  });
  return { sql: parts.length ? `array_to_string(ARRAY[${parts.join(", ")}]::float8[], ',')` : `''`, params };
}

// The query returns each customer as one comma-separated text (an empty field is NULL): decoding
// one text per row costs far less than eighteen typed columns (PGlite's scoring read took 3.5 s
// as columns and 2.2 s packed for 100,000 customers). Float8 text round-trips exactly. Money goes
// out as the exact numeric text and times as seconds (date_part, a float8), divided into days
// here: turning numerics into float8 text in SQL cost more than the rest of a row (100,000
// customers on PGlite: 0.76 s for five such fields against 0.32-0.41 s for the row without them).
// The fields in order, each with its SQL: one list serves both the SELECT and the decoding.
const PACKED = {
  id: "c.id",
  purchase_count: "p.purchase_count",
  purchase_days: "p.purchase_days",
  first_seconds: "p.first_seconds",
  last_seconds: "p.last_seconds",
  signup_seconds: `date_part('epoch', $1::timestamp - c.signed_up_at)`,
  total: "p.total",
  spend_90: "p.spend_90",
  spend_prev_90: "p.spend_prev_90",
  margin: "p.margin",
  margin_base: "p.margin_base",
  items: "p.items",
  nps: "fb.nps",
  csat: "fb.csat",
  complaints_90: "fb.complaints_90",
  complaints_total: "fb.complaints_total",
  offers_received: "o.offers_received",
  offers_declined: "o.offers_declined",
} as const;
const PACKED_FIELDS = Object.keys(PACKED).length;
const at = Object.fromEntries(Object.keys(PACKED).map((name, i) => [name, i])) as Record<keyof typeof PACKED, number>;
const packedSql = Object.values(PACKED)
  .map((sql) => `coalesce((${sql})::text, '')`)
  .join(", ");

// The purchase aggregates of the customers with lo < id <= hi, two ways that give the same
// numbers. Days are measured back from as_of.
// From the purchases themselves, ignoring those at or after as_of: any cut-off (training).
const PURCHASES_AGGREGATE = (only: (column: string) => string) => `
  SELECT customer_id,
         count(*)::int AS purchase_count,
         count(DISTINCT purchased_at::date)::int AS purchase_days,
         date_part('epoch', $1::timestamp - min(purchased_at)) AS first_seconds,
         date_part('epoch', $1::timestamp - max(purchased_at)) AS last_seconds,
         sum(amount) AS total,
         coalesce(sum(amount) FILTER (WHERE purchased_at >= $1::timestamp - interval '90 days'), 0) AS spend_90,
         coalesce(sum(amount) FILTER (WHERE purchased_at >= $1::timestamp - interval '180 days'
                                        AND purchased_at < $1::timestamp - interval '90 days'), 0) AS spend_prev_90,
         sum(gross_margin) AS margin,
         sum(amount) FILTER (WHERE gross_margin IS NOT NULL) AS margin_base,
         sum(quantity) AS items
    FROM purchases
   WHERE customer_id > $2 AND customer_id <= $3${only("customer_id")} AND purchased_at < $1::timestamp
   GROUP BY customer_id`;
// From the running totals in customer_purchase_stats plus the last 180 days of purchases: only
// valid when no purchase is at or after as_of (scoring as of now), and several times cheaper,
// since the whole history is not read again. The totals are exact sums, so the float8 values match.
const STATS_AGGREGATE = (only: (column: string) => string) => `
  SELECT s.customer_id,
         s.purchase_count,
         s.purchase_days,
         date_part('epoch', $1::timestamp - s.first_purchase_at) AS first_seconds,
         date_part('epoch', $1::timestamp - s.last_purchase_at) AS last_seconds,
         s.revenue AS total,
         coalesce(w.spend_90, 0) AS spend_90,
         coalesce(w.spend_prev_90, 0) AS spend_prev_90,
         s.margin,
         s.margin_revenue AS margin_base,
         s.items
    FROM customer_purchase_stats s
    LEFT JOIN (
      SELECT customer_id,
             sum(amount) FILTER (WHERE purchased_at >= $1::timestamp - interval '90 days') AS spend_90,
             sum(amount) FILTER (WHERE purchased_at < $1::timestamp - interval '90 days') AS spend_prev_90
        FROM purchases
       WHERE customer_id > $2 AND customer_id <= $3${only("customer_id")}
         AND purchased_at >= $1::timestamp - interval '180 days' AND purchased_at < $1::timestamp
       GROUP BY customer_id
    ) w ON w.customer_id = s.customer_id
   WHERE s.customer_id > $2 AND s.customer_id <= $3${only("s.customer_id")}`;

/** The tables the features query reads. */
const FEATURE_TABLES = ["customers", "purchases", "customer_purchase_stats", "refunds", "feedback", "offer_issues"];

/** Where the purchase aggregates come from; see {@link purchaseSource}. */
export type PurchaseSource = "purchases" | "stats";

// One set-based query for the customers with lo < id <= hi.
// Customers count from sign-up or their first purchase before as_of; erased ones are left out.
// Money is net: refunds before as_of are subtracted from the spend windows and, reading the
// purchases themselves, from the total (the stored totals' revenue is net already).
// With customer ids (a sample), every aggregate keeps to them, so a batch reads the sample's
// purchases through the (customer, time) index instead of all its customers' and then dropping
// most (a 10,000 sample of 1,000,000 customers read every purchase).
const FEATURES_SQL = (attrs: string, source: PurchaseSource, idsParam: string | null) => {
  const only = (column: string) => (idsParam ? ` AND ${column} = ANY(${idsParam}::int[])` : "");
  return `
WITH gross AS (${source === "stats" ? STATS_AGGREGATE(only) : PURCHASES_AGGREGATE(only)}
),
rf AS (
  SELECT customer_id,
         sum(amount) AS total,
         sum(amount) FILTER (WHERE refunded_at >= $1::timestamp - interval '90 days') AS spend_90,
         sum(amount) FILTER (WHERE refunded_at >= $1::timestamp - interval '180 days'
                               AND refunded_at < $1::timestamp - interval '90 days') AS spend_prev_90
    FROM refunds
   WHERE customer_id > $2 AND customer_id <= $3${only("customer_id")} AND refunded_at < $1::timestamp
   GROUP BY customer_id
),
p AS (
  SELECT g.customer_id, g.purchase_count, g.purchase_days, g.first_seconds, g.last_seconds,
         ${source === "stats" ? "g.total" : "g.total - coalesce(rf.total, 0)"} AS total,
         g.spend_90 - coalesce(rf.spend_90, 0) AS spend_90,
         g.spend_prev_90 - coalesce(rf.spend_prev_90, 0) AS spend_prev_90,
         g.margin, g.margin_base, g.items
    FROM gross g LEFT JOIN rf ON rf.customer_id = g.customer_id
),
fb AS (
  SELECT customer_id,
         (array_agg(score ORDER BY created_at DESC, id DESC) FILTER (WHERE kind = 'nps' AND score IS NOT NULL))[1] AS nps,
         (array_agg(score ORDER BY created_at DESC, id DESC) FILTER (WHERE kind = 'csat' AND score IS NOT NULL))[1] AS csat,
         count(*) FILTER (WHERE kind = 'complaint' AND created_at >= $1::timestamp - interval '90 days')::int AS complaints_90,
         count(*) FILTER (WHERE kind = 'complaint')::int AS complaints_total
    FROM feedback
   WHERE customer_id > $2 AND customer_id <= $3${only("customer_id")} AND created_at < $1::timestamp AND kind IN ('nps', 'csat', 'complaint')
   GROUP BY customer_id
),
o AS (
  SELECT customer_id,
         count(*)::int AS offers_received,
         count(*) FILTER (WHERE status = 'declined' AND responded_at < $1::timestamp)::int AS offers_declined
    FROM offer_issues
   WHERE customer_id > $2 AND customer_id <= $3${only("customer_id")} AND issued_at < $1::timestamp
   GROUP BY customer_id
)
SELECT concat_ws(',', ${packedSql}, ${attrs}) AS r
  FROM customers c
  LEFT JOIN p ON p.customer_id = c.id
  LEFT JOIN fb ON fb.customer_id = c.id
  LEFT JOIN o ON o.customer_id = c.id
 WHERE c.id > $2 AND c.id <= $3 AND c.erased_at IS NULL
   AND (p.customer_id IS NOT NULL OR c.signed_up_at < $1::timestamp)${
     idsParam
       ? `
   AND c.id = ANY(${idsParam}::int[])`
       : ""
   }
 ORDER BY c.id`;
};

// Powers of ten a decimal's digits are divided by; all exact doubles.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
// Up to 15 digits make an integer below 2^53, so digits / 10^k (two exact doubles) is the
// correctly rounded value of the decimal: the same double Number() gives.
const MAX_FAST_DIGITS = 15;

/**
 * The packed row's fields as numbers, in `out` (NaN for an empty field, a NULL). Reads the digits
 * in place instead of splitting the text into a string per field (half of the row's decoding
 * time); anything but a plain decimal (an exponent, "Infinity", 16+ digits) goes to Number().
 * Returns the number of fields.
 */
export function parseFields(packed: string, out: Float64Array): number {
  let n = 0;
  let i = 0;
  const length = packed.length;
  while (n < out.length) {
    const start = i;
    let negative = false;
    let mantissa = 0;
    let digits = 0;
    let decimals = -1; // digits after the point, -1 before a point
    let plain = true;
    let c = i < length ? packed.charCodeAt(i) : 44;
    if (c === 45) {
      negative = true;
      c = ++i < length ? packed.charCodeAt(i) : 44;
    }
    while (c !== 44) {
      if (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        if (decimals >= 0) decimals++;
      } else if (c === 46 && decimals < 0) decimals = 0;
      else plain = false;
      c = ++i < length ? packed.charCodeAt(i) : 44;
    }
    // i is at the comma (or the end)
    if (i === start) out[n] = Number.NaN;
    else if (plain && digits > 0 && digits <= MAX_FAST_DIGITS) {
      const value = decimals > 0 ? mantissa / POW10[decimals]! : mantissa;
      out[n] = negative ? -value : value;
    } else out[n] = Number(packed.slice(start, i));
    n++;
    if (i >= length) break;
    i++;
  }
  for (let k = n; k < out.length; k++) out[k] = Number.NaN;
  return n;
}

let fieldValues = new Float64Array(PACKED_FIELDS);
const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);
const orZero = (value: number): number => (Number.isNaN(value) ? 0 : value);

/** Decodes one row of {@link packedFeatureBatches} (attribute values in the order of `spec`). */
export function decodeFeatures(packed: string, spec: readonly AttributeFeature[]): CustomerFeatures {
  if (fieldValues.length !== PACKED_FIELDS + spec.length) fieldValues = new Float64Array(PACKED_FIELDS + spec.length);
  const v = fieldValues;
  parseFields(packed, v);
  const firstDays = orNull(v[at.first_seconds]! / DAY_SECONDS);
  const recencyDays = orNull(v[at.last_seconds]! / DAY_SECONDS);
  const purchaseCount = orZero(v[at.purchase_count]!);
  const days = orZero(v[at.purchase_days]!);
  const T = firstDays ?? 0;
  const tx = firstDays !== null && recencyDays !== null ? firstDays - recencyDays : 0;
  const x = Math.max(0, days - 1);
  const meanGapDays = x > 0 ? tx / x : null;
  const total = orZero(v[at.total]!);
  const s90 = orZero(v[at.spend_90]!);
  const sPrev = orZero(v[at.spend_prev_90]!);
  const margin = orNull(v[at.margin]!);
  const marginBase = orNull(v[at.margin_base]!);
  const attributes = new Array<number>(spec.length);
  for (let i = 0; i < spec.length; i++) attributes[i] = orZero(v[PACKED_FIELDS + i]!);
  return {
    customerId: v[at.id]!,
    recencyDays,
    frequency: x,
    purchaseCount,
    tenureDays: Math.max(firstDays ?? 0, orZero(v[at.signup_seconds]! / DAY_SECONDS)),
    monetaryMean: purchaseCount > 0 ? total / purchaseCount : null,
    monetaryTotal: total,
    itemCount: orZero(v[at.items]!),
    meanGapDays,
    overdueRatio: meanGapDays !== null && meanGapDays > 0 && recencyDays !== null ? recencyDays / meanGapDays : null,
    spendLast90: s90,
    spendPrev90: sPrev,
    spendTrend: s90 + sPrev > 0 ? (s90 - sPrev) / (s90 + sPrev) : null,
    marginShare: margin !== null && marginBase ? margin / marginBase : null,
    npsLatest: orNull(v[at.nps]!),
    csatLatest: orNull(v[at.csat]!),
    complaints90: orZero(v[at.complaints_90]!),
    complaintsTotal: orZero(v[at.complaints_total]!),
    offersReceived: orZero(v[at.offers_received]!),
    offersDeclined: orZero(v[at.offers_declined]!),
    x,
    tx,
    T,
    attributes,
  };
}

/**
 * Streams the features of every customer as of `asOf` as packed rows (decode each with
 * {@link decodeFeatures}), in batches of customers ordered by id (keyset pagination, so memory
 * stays bounded at a million customers). One set-based query per batch; purchases, feedback and
 * offers at or after `asOf` are ignored. Scoring decodes a customer just before scoring it, so a
 * batch's 50,000 feature objects never live at once.
 */
export async function* packedFeatureBatches(
  db: Database,
  options: FeatureOptions & { attributeSpec: AttributeFeature[] },
): AsyncGenerator<string[]> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? FEATURE_BATCH));
  const attrs = attributeSql(options.attributeSpec, 4);
  const source = options.source ?? (await purchaseSource(db, options.asOf));
  // The totals must have caught up with the purchases before they are read.
  if (source === "stats") await settlePurchaseStats(db);
  await analyzeGrownTables(db, FEATURE_TABLES);
  const ids = options.customerIds ? [...options.customerIds] : null;
  const sql = FEATURES_SQL(attrs.sql, source, ids ? `$${4 + attrs.params.length}` : null);
  const asOf = options.asOf.toISOString();
  // Every batch's upper id first (one index-only pass), so later batches' queries can be sent
  // while the caller is still busy with an earlier one.
  const bounds = await db.queryRows<{ hi: number }>(
    `SELECT id AS hi FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers) c
      WHERE n % $1 = 0 OR id = (SELECT max(id) FROM customers) ORDER BY id`,
    [batchSize],
  );
  const his = [...new Set(bounds.map((b) => b.hi))];
  const query = (k: number) => {
    // Straight through the driver: Prisma's row conversion costs more than the query itself here.
    const params: unknown[] = [asOf, k === 0 ? 0 : his[k - 1]!, his[k]!, ...attrs.params];
    if (ids) params.push(ids);
    const result = db.queryRows<{ r: string }>(sql, params);
    result.catch(() => undefined); // a caller that stops early must not leave an unhandled rejection
    return result;
  };
  // Two batches in flight: on a server each runs in its own backend, so both cores compute
  // features while this process turns the previous batch into scores.
  const inFlight = his.slice(0, 2).map((_, k) => query(k));
  for (let k = 0; k < his.length; k++) {
    const rows = await inFlight.shift()!;
    if (k + 2 < his.length) inFlight.push(query(k + 2));
    const packed = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) packed[i] = rows[i]!.r;
    yield packed;
  }
}

/** {@link packedFeatureBatches}, decoded: each batch as feature objects. */
export async function* featureBatches(
  db: Database,
  options: FeatureOptions & { attributeSpec: AttributeFeature[] },
): AsyncGenerator<CustomerFeatures[]> {
  for await (const batch of packedFeatureBatches(db, options))
    yield batch.map((row) => decodeFeatures(row, options.attributeSpec));
}

/** All customers' features as of `asOf` in one array (tests, training, small stores). */
export async function computeFeatures(
  db: Database,
  options: FeatureOptions,
): Promise<{ rows: CustomerFeatures[]; attributeSpec: AttributeFeature[] }> {
  const attributeSpec = options.attributeSpec ?? (await discoverAttributes(db));
  const rows: CustomerFeatures[] = [];
  for await (const batch of featureBatches(db, { ...options, attributeSpec })) for (const row of batch) rows.push(row);
  return { rows, attributeSpec };
}

/**
 * Where features as of `asOf` can read their purchase aggregates: the running totals when no
 * purchase is at or after `asOf` (as of now, every purchase counts), else the purchases.
 */
export async function purchaseSource(db: Database, asOf: Date): Promise<PurchaseSource> {
  const rows = await db.queryRows<{ later: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM purchases WHERE purchased_at >= $1::timestamp) AS later`,
    [asOf.toISOString()],
  );
  return rows[0]?.later ? "purchases" : "stats";
}

/**
 * A reproducible sample of at most `max` customers who count as of `asOf` (not erased; signed up
 * or bought before it), drawn in SQL so that training never loads every customer. Returns null
 * when there are no more than `max` of them (use them all). The order is a hash of the id and the
 * seed, so the same seed draws the same customers.
 */
export async function sampleCustomerIds(
  db: Database,
  options: { asOf: Date; max: number; seed: number },
): Promise<number[] | null> {
  const max = Math.max(1, Math.floor(options.max));
  const rows = await db.queryRows<{ id: number }>(
    `SELECT c.id FROM customers c
      WHERE c.erased_at IS NULL
        AND (c.signed_up_at < $1::timestamp
             OR EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.purchased_at < $1::timestamp))
      ORDER BY md5(c.id::text || ':' || $2::text), c.id
      LIMIT $3`,
    [options.asOf.toISOString(), String(options.seed), max + 1],
  );
  if (rows.length <= max) return null;
  return rows
    .slice(0, max)
    .map((r) => Number(r.id))
    .sort((a, b) => a - b);
}

/** Counts the customers `featureBatches` would visit at most (for progress bars). */
export async function countCustomers(db: Database): Promise<number> {
  const rows = await db.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM customers WHERE erased_at IS NULL`,
  );
  return rows[0]?.n ?? 0;
}
