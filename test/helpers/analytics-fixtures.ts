// Small fixture builders for analytics tests: customers, purchases and feedback inserted in bulk.
import type { Database } from "../../core/db/client";

export interface CustomerFixture {
  externalId?: string;
  signedUpAt?: Date | null;
  attributes?: Record<string, unknown>;
}

export interface PurchaseFixture {
  customerId: number;
  at: Date;
  amount: number;
  grossMargin?: number | null;
}

export const day = (iso: string) => new Date(`${iso}T12:00:00.000Z`);
export const addDays = (d: Date, n: number) => new Date(d.getTime() + n * 86_400_000);

let counter = 0;

/** Inserts customers and returns their ids in order. */
export async function makeCustomers(db: Database, customers: CustomerFixture[]): Promise<number[]> {
  const ext = customers.map((c) => c.externalId ?? `c-${process.pid}-${++counter}`);
  const signed = customers.map((c) => (c.signedUpAt ? c.signedUpAt.toISOString() : null));
  const attrs = customers.map((c) => JSON.stringify(c.attributes ?? {}));
  const rows = await db.prisma.$queryRawUnsafe<{ id: number }[]>(
    `INSERT INTO customers (external_id, signed_up_at, attributes, updated_at)
     SELECT e, s::timestamp, a::jsonb, now() FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(e, s, a, n)
     ORDER BY n RETURNING id`,
    ext,
    signed,
    attrs,
  );
  return rows.map((r) => r.id);
}

export async function makePurchases(db: Database, purchases: PurchaseFixture[]): Promise<void> {
  if (!purchases.length) return;
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO purchases (external_id, customer_id, purchased_at, amount, gross_margin)
     SELECT 'p-' || md5(random()::text || clock_timestamp()::text || c::text || a::text), c, a::timestamp, m, g
       FROM unnest($1::int[], $2::text[], $3::numeric[], $4::numeric[]) AS t(c, a, m, g)`,
    purchases.map((p) => p.customerId),
    purchases.map((p) => p.at.toISOString()),
    purchases.map((p) => p.amount),
    purchases.map((p) => p.grossMargin ?? null),
  );
}

export async function makeFeedback(
  db: Database,
  rows: { customerId: number; kind: "nps" | "csat" | "complaint"; score?: number | null; at: Date }[],
): Promise<void> {
  if (!rows.length) return;
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO feedback (customer_id, kind, score, created_at)
     SELECT c, k, s, a::timestamp FROM unnest($1::int[], $2::text[], $3::int[], $4::text[]) AS t(c, k, s, a)`,
    rows.map((r) => r.customerId),
    rows.map((r) => r.kind),
    rows.map((r) => r.score ?? null),
    rows.map((r) => r.at.toISOString()),
  );
}

/**
 * A small store with regular buyers, lapsed ones and one-off buyers, generated in SQL.
 * Regulars buy every ~`gap` days up to asOf; lapsed ones stopped 150-400 days before asOf.
 * The same seed gives the same store on either engine whatever plan it picks: rows meet random()
 * in the order of the ORDER BYs (volatile outputs are computed after the sort), not in the order of
 * an index or a join chosen by the planner's statistics of the moment.
 */
export async function makeGeneratedStore(
  db: Database,
  options: { customers: number; asOf: Date; seed?: number },
): Promise<void> {
  // One transaction: its one connection sees the seed (a pool could run each statement on another).
  // Its bounds are the test's: a loaded machine may be slow, and a hang is the test's timeout.
  await db.prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`SELECT setseed($1)`, ((options.seed ?? 7) % 1000) / 1000);
      await tx.$executeRawUnsafe(
        `INSERT INTO customers (external_id, signed_up_at, attributes, updated_at)
         SELECT 'g-' || i, $2::timestamp - interval '730 days',
                jsonb_build_object('tier', (ARRAY['gold','silver','bronze'])[1 + i % 3], 'age', 20 + i % 50), now()
           FROM generate_series(1, $1::int) i`,
        options.customers,
        options.asOf.toISOString(),
      );
      // Each customer: a gap of 10..60 days, a stop date (some never stop), purchases every gap
      // days. Drawn into a table first: a query drawing these and each purchase's numbers at once
      // would interleave the draws as its plan streams rows (PostgreSQL 17's incremental sort does).
      await tx.$executeRawUnsafe(
        `CREATE TEMP TABLE generated_buyers ON COMMIT DROP AS
         SELECT id, 10 + floor(random() * 50)::int AS gap,
                CASE WHEN random() < 0.5 THEN 0 ELSE 150 + floor(random() * 250)::int END AS stop_days,
                5 + random() * 95 AS spend
           FROM customers WHERE external_id LIKE 'g-%' ORDER BY id`,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
         SELECT 'gp-' || c.id || '-' || k, c.id,
                $1::timestamp - make_interval(days => 700 - k * c.gap) - make_interval(hours => floor(random() * 8)::int),
                round((c.spend * (0.5 + random()))::numeric, 2)
           FROM generated_buyers c, generate_series(0, 70) k
          WHERE 700 - k * c.gap > c.stop_days
          ORDER BY c.id, k`,
        options.asOf.toISOString(),
      );
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
}
