// Bulk, set-based writes of imported customers and purchases: one statement per batch via
// unnest() arrays. Upserts by external id and only touches rows whose values changed, so
// re-importing the same data changes nothing (not even updated_at).
import type { Prisma, PrismaClient } from "../db/client";

type Db = PrismaClient | Prisma.TransactionClient;

export interface CustomerRow {
  externalId: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  locale?: string | null;
  timeZone?: string | null;
  signedUpAt?: Date | null;
  marketingConsent?: boolean | null;
  attributes?: Record<string, string | number | boolean>;
}

export interface PurchaseRow {
  externalId: string;
  customerExternalId: string;
  purchasedAt: Date;
  /** Money as a decimal string or number, >= 0. */
  amount: string | number;
  grossMargin?: string | number | null;
  quantity?: number | null;
  category?: string | null;
  /** Product lines the order had in the file (1 when the file has one row per order). */
  lines?: number | null;
}

/** Money given back, as a positive amount; no customer for a refund of an anonymous sale. */
export interface RefundRow {
  externalId: string;
  customerExternalId: string | null;
  /** The original order's external id, where it could be identified. */
  orderExternalId: string | null;
  refundedAt: Date;
  amount: string | number;
  quantity?: number | null;
}

/** A sale without a customer. */
export interface AnonymousSaleRow {
  externalId: string;
  soldAt: Date;
  amount: string | number;
  quantity?: number | null;
  lines?: number | null;
  category?: string | null;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * Inserts new customers and updates changed ones. Fields a row leaves undefined keep their
 * stored value; attributes are merged into the stored ones.
 */
export async function upsertCustomers(db: Db, input: CustomerRow[]): Promise<UpsertCounts> {
  const rows = lastByKey(input, (r) => r.externalId);
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const col = <T>(pick: (r: CustomerRow) => T | undefined) => rows.map((r) => pick(r) ?? null);
  const has = (key: keyof CustomerRow) => rows.map((r) => r[key] !== undefined);
  // The merged row (a field the file leaves out keeps its stored value) is built by joining
  // the stored customer once; the upsert then writes it only where something differs.
  const result = await db.$queryRaw<{ inserted: boolean }[]>`
    WITH input AS (
      SELECT * FROM unnest(
        ${col((r) => r.externalId)}::text[], ${col((r) => r.name)}::text[], ${has("name")}::boolean[],
        ${col((r) => r.email)}::text[], ${has("email")}::boolean[],
        ${col((r) => r.phone)}::text[], ${has("phone")}::boolean[],
        ${col((r) => r.locale)}::text[], ${has("locale")}::boolean[],
        ${col((r) => r.timeZone)}::text[], ${has("timeZone")}::boolean[],
        ${col((r) => r.signedUpAt)}::timestamp[], ${has("signedUpAt")}::boolean[],
        ${col((r) => r.marketingConsent)}::boolean[], ${has("marketingConsent")}::boolean[],
        ${rows.map((r) => JSON.stringify(r.attributes ?? {}))}::jsonb[]
      ) AS t(external_id, name, has_name, email, has_email, phone, has_phone, locale, has_locale,
             time_zone, has_time_zone, signed_up_at, has_signed_up_at, consent, has_consent, attributes)
    )
    INSERT INTO customers AS c (external_id, name, email, phone, locale, time_zone, signed_up_at, marketing_consent, attributes, updated_at)
    SELECT i.external_id,
           CASE WHEN i.has_name THEN i.name ELSE s.name END,
           CASE WHEN i.has_email THEN i.email ELSE s.email END,
           CASE WHEN i.has_phone THEN i.phone ELSE s.phone END,
           CASE WHEN i.has_locale THEN i.locale ELSE s.locale END,
           CASE WHEN i.has_time_zone THEN i.time_zone ELSE s.time_zone END,
           CASE WHEN i.has_signed_up_at THEN i.signed_up_at ELSE s.signed_up_at END,
           -- marketing is opt-in: a customer without a consent column is not marketable
           coalesce(CASE WHEN i.has_consent THEN i.consent ELSE s.marketing_consent END, false),
           coalesce(s.attributes, '{}'::jsonb) || i.attributes,
           now()
    FROM input i LEFT JOIN customers s ON s.external_id = i.external_id
    ON CONFLICT (external_id) DO UPDATE SET
      name = excluded.name, email = excluded.email, phone = excluded.phone, locale = excluded.locale,
      time_zone = excluded.time_zone, signed_up_at = excluded.signed_up_at,
      marketing_consent = excluded.marketing_consent, attributes = excluded.attributes, updated_at = now()
    WHERE c.erased_at IS NULL
      AND (c.name, c.email, c.phone, c.locale, c.time_zone, c.signed_up_at, c.marketing_consent, c.attributes)
          IS DISTINCT FROM (excluded.name, excluded.email, excluded.phone, excluded.locale, excluded.time_zone,
                            excluded.signed_up_at, excluded.marketing_consent, excluded.attributes)
    RETURNING (xmax = 0) AS inserted`;
  const inserted = result.filter((r) => r.inserted).length;
  const updated = result.length - inserted;
  return { inserted, updated, unchanged: rows.length - result.length };
}

// One statement can't upsert the same key twice: the last row for a key wins.
function lastByKey<T>(rows: T[], key: (row: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const row of rows) byKey.set(key(row), row);
  return byKey.size === rows.length ? rows : [...byKey.values()];
}

/**
 * Creates customers that don't exist yet with only an external id (orders files that carry
 * no customer table, such as CDNOW). They have given no consent, so they are not marketable.
 * Returns how many were new.
 */
export async function ensureCustomers(db: Db, externalIds: string[]): Promise<number> {
  if (externalIds.length === 0) return 0;
  return db.$executeRaw`
    INSERT INTO customers (external_id, marketing_consent) SELECT DISTINCT unnest(${externalIds}::text[]), false
    ON CONFLICT (external_id) DO NOTHING`;
}

/** Customer ids by external id, for the ids that exist. */
export async function customerIdsByExternalId(db: Db, externalIds: string[]): Promise<Map<string, number>> {
  if (externalIds.length === 0) return new Map();
  const found = await db.$queryRaw<{ id: number; external_id: string }[]>`
    SELECT id, external_id FROM customers WHERE external_id = ANY(${[...new Set(externalIds)]}::text[])`;
  return new Map(found.map((r) => [r.external_id, r.id]));
}

/**
 * Inserts new purchases and updates changed ones, keyed by the purchase external id.
 * Every row's customer must exist (check with `customerIdsByExternalId` first).
 */
export async function upsertPurchases(db: Db, input: PurchaseRow[]): Promise<UpsertCounts> {
  const rows = lastByKey(input, (r) => r.externalId);
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const result = await db.$queryRaw<{ inserted: boolean }[]>`
    INSERT INTO purchases AS p (external_id, customer_id, purchased_at, amount, gross_margin, quantity, category, lines)
    SELECT t.external_id, c.id, t.purchased_at, t.amount, t.gross_margin, coalesce(t.quantity, 1), t.category, coalesce(t.lines, 1)
    FROM unnest(
      ${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.customerExternalId)}::text[],
      ${rows.map((r) => r.purchasedAt)}::timestamp[], ${rows.map((r) => String(r.amount))}::numeric[],
      ${rows.map((r) => (r.grossMargin == null ? null : String(r.grossMargin)))}::numeric[],
      ${rows.map((r) => r.quantity ?? null)}::int[], ${rows.map((r) => r.category ?? null)}::text[],
      ${rows.map((r) => r.lines ?? null)}::int[]
    ) AS t(external_id, customer_external_id, purchased_at, amount, gross_margin, quantity, category, lines)
    JOIN customers c ON c.external_id = t.customer_external_id
    ON CONFLICT (external_id) DO UPDATE SET
      customer_id = excluded.customer_id, purchased_at = excluded.purchased_at, amount = excluded.amount,
      gross_margin = excluded.gross_margin, quantity = excluded.quantity, category = excluded.category, lines = excluded.lines
    WHERE (p.customer_id, p.purchased_at, p.amount, p.gross_margin, p.quantity, p.category, p.lines)
      IS DISTINCT FROM (excluded.customer_id, excluded.purchased_at, excluded.amount, excluded.gross_margin, excluded.quantity, excluded.category, excluded.lines)
    RETURNING (xmax = 0) AS inserted`;
  return counts(result, rows.length);
}

function counts(result: { inserted: boolean }[], rows: number): UpsertCounts {
  const inserted = result.filter((r) => r.inserted).length;
  return { inserted, updated: result.length - inserted, unchanged: rows - result.length };
}

/**
 * Inserts new refunds and updates changed ones, keyed by external id. A refund's customer must
 * exist when it names one.
 */
export async function upsertRefunds(db: Db, input: RefundRow[]): Promise<UpsertCounts> {
  const rows = lastByKey(input, (r) => r.externalId);
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const result = await db.$queryRaw<{ inserted: boolean }[]>`
    INSERT INTO refunds AS r (external_id, customer_id, order_external_id, refunded_at, amount, quantity)
    SELECT t.external_id, c.id, t.order_external_id, t.refunded_at, t.amount, coalesce(t.quantity, 0)
    FROM unnest(
      ${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.customerExternalId)}::text[],
      ${rows.map((r) => r.orderExternalId)}::text[], ${rows.map((r) => r.refundedAt)}::timestamp[],
      ${rows.map((r) => String(r.amount))}::numeric[], ${rows.map((r) => r.quantity ?? null)}::int[]
    ) AS t(external_id, customer_external_id, order_external_id, refunded_at, amount, quantity)
    LEFT JOIN customers c ON c.external_id = t.customer_external_id
    WHERE t.customer_external_id IS NULL OR c.id IS NOT NULL
    ON CONFLICT (external_id) DO UPDATE SET
      customer_id = excluded.customer_id, order_external_id = excluded.order_external_id,
      refunded_at = excluded.refunded_at, amount = excluded.amount, quantity = excluded.quantity
    WHERE (r.customer_id, r.order_external_id, r.refunded_at, r.amount, r.quantity)
      IS DISTINCT FROM (excluded.customer_id, excluded.order_external_id, excluded.refunded_at, excluded.amount, excluded.quantity)
    RETURNING (xmax = 0) AS inserted`;
  return counts(result, rows.length);
}

/** Inserts new anonymous sales and updates changed ones, keyed by external id. */
export async function upsertAnonymousSales(db: Db, input: AnonymousSaleRow[]): Promise<UpsertCounts> {
  const rows = lastByKey(input, (r) => r.externalId);
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const result = await db.$queryRaw<{ inserted: boolean }[]>`
    INSERT INTO anonymous_sales AS a (external_id, sold_at, amount, quantity, lines, category)
    SELECT t.external_id, t.sold_at, t.amount, coalesce(t.quantity, 1), coalesce(t.lines, 1), t.category
    FROM unnest(
      ${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.soldAt)}::timestamp[],
      ${rows.map((r) => String(r.amount))}::numeric[], ${rows.map((r) => r.quantity ?? null)}::int[],
      ${rows.map((r) => r.lines ?? null)}::int[], ${rows.map((r) => r.category ?? null)}::text[]
    ) AS t(external_id, sold_at, amount, quantity, lines, category)
    ON CONFLICT (external_id) DO UPDATE SET
      sold_at = excluded.sold_at, amount = excluded.amount, quantity = excluded.quantity,
      lines = excluded.lines, category = excluded.category
    WHERE (a.sold_at, a.amount, a.quantity, a.lines, a.category)
      IS DISTINCT FROM (excluded.sold_at, excluded.amount, excluded.quantity, excluded.lines, excluded.category)
    RETURNING (xmax = 0) AS inserted`;
  return counts(result, rows.length);
}
