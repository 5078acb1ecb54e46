// Each customer's purchase totals (customer_purchase_stats), which scoring as of now reads instead
// of the whole purchase history (see analytics/features.ts). Statement triggers on purchases note
// the customers whose purchases changed; settling recounts them (migration
// 20261123000000_purchase_stats). The importer settles after each orders file, scoring before it
// reads, so the totals it reads are never behind the purchases.
import type { Database } from "./client";
import { analyzeCustomersIfStale } from "./planner-statistics";

/**
 * From this many recounted customers on, a settle also refreshes the planner's statistics of the
 * tables features read. PGlite has no autovacuum: planned on never-analysed tables, the features
 * query of the 3,000-customer demo joined by nested loop and took 15 s instead of 0.12 s.
 */
const ANALYZE_AFTER = 1_000;

/**
 * Recounts the totals of every customer noted since the last settle; returns how many. The
 * customers' statistics are refreshed with the purchases' only where they are stale (see
 * {@link analyzeCustomersIfStale}): an orders import that created no customers would otherwise
 * sample an unchanged table again.
 */
export async function settlePurchaseStats(db: Database): Promise<number> {
  const rows = await db.queryRows<{ n: number }>(`SELECT customer_purchase_stats_settle() AS n`);
  const settled = rows[0]?.n ?? 0;
  if (settled < ANALYZE_AFTER) return settled;
  await analyzeCustomersIfStale(db);
  await db.execScript(`ANALYZE purchases, customer_purchase_stats`);
  return settled;
}

/** Recounts every customer's totals (after a load with the triggers disabled, or a repair). */
export async function rebuildPurchaseStats(db: Database): Promise<number> {
  await db.execScript(`INSERT INTO customer_purchase_stats_pending (customer_id) SELECT id FROM customers`);
  return settlePurchaseStats(db);
}

/**
 * The customers whose stored totals differ from a recount of their purchases (revenue net of refunds). Settle first:
 * customers noted but not yet recounted differ until then.
 */
export async function purchaseStatsDrift(db: Database): Promise<number[]> {
  const rows = await db.queryRows<{ customer_id: number }>(
    `SELECT coalesce(r.customer_id, s.customer_id) AS customer_id
       FROM (SELECT customer_id, count(*)::int AS purchase_count, count(DISTINCT purchased_at::date)::int AS purchase_days,
                    min(purchased_at) AS first_purchase_at, max(purchased_at) AS last_purchase_at,
                    (sum(amount) - coalesce((SELECT sum(f.amount) FROM refunds f WHERE f.customer_id = p.customer_id), 0))::numeric(18, 2) AS revenue,
                    sum(gross_margin)::numeric(18, 2) AS margin,
                    (sum(amount) FILTER (WHERE gross_margin IS NOT NULL))::numeric(18, 2) AS margin_revenue
               FROM purchases p
              GROUP BY customer_id) r
       FULL JOIN customer_purchase_stats s ON s.customer_id = r.customer_id
      WHERE (r.purchase_count, r.purchase_days, r.first_purchase_at, r.last_purchase_at, r.revenue, r.margin, r.margin_revenue)
            IS DISTINCT FROM
            (s.purchase_count, s.purchase_days, s.first_purchase_at, s.last_purchase_at, s.revenue, s.margin, s.margin_revenue)
      ORDER BY 1`,
  );
  return rows.map((r) => r.customer_id);
}
