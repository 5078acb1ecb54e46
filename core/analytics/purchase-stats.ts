// Each customer's running purchase totals (customer_purchase_stats), kept up to date by statement
// triggers on purchases (migration 20261123000000_purchase_stats). Features as of now read them
// instead of the whole purchase history (see features.ts). This module recounts them in bulk and
// checks them against the purchases.
import type { Database } from "../db/client";

// The totals as the triggers count them, from the purchases themselves.
const RECOUNT = `
  SELECT customer_id, count(*)::int AS purchase_count, count(DISTINCT purchased_at::date)::int AS purchase_days,
         min(purchased_at) AS first_purchase_at, max(purchased_at) AS last_purchase_at,
         sum(amount)::numeric(18, 2) AS revenue, sum(gross_margin)::numeric(18, 2) AS margin,
         (sum(amount) FILTER (WHERE gross_margin IS NOT NULL))::numeric(18, 2) AS margin_revenue
    FROM purchases
   GROUP BY customer_id`;

/**
 * Recounts every customer's totals in one pass, for after a bulk load that ran with the
 * triggers disabled. Purchases are locked against writes meanwhile.
 */
export async function rebuildPurchaseStats(db: Database): Promise<void> {
  await db.prisma.$transaction([
    db.prisma.$executeRawUnsafe(`LOCK TABLE purchases IN SHARE MODE`),
    db.prisma.$executeRawUnsafe(`DELETE FROM customer_purchase_stats`),
    db.prisma.$executeRawUnsafe(
      `INSERT INTO customer_purchase_stats
              (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue)
       ${RECOUNT}`,
    ),
  ]);
}

/** The customers whose stored totals differ from a recount (none, while the triggers work). */
export async function purchaseStatsDrift(db: Database): Promise<number[]> {
  const rows = await db.queryRows<{ customer_id: number }>(
    `SELECT coalesce(r.customer_id, s.customer_id) AS customer_id
       FROM (${RECOUNT}) r
       FULL JOIN customer_purchase_stats s ON s.customer_id = r.customer_id
      WHERE (r.purchase_count, r.purchase_days, r.first_purchase_at, r.last_purchase_at, r.revenue, r.margin, r.margin_revenue)
            IS DISTINCT FROM
            (s.purchase_count, s.purchase_days, s.first_purchase_at, s.last_purchase_at, s.revenue, s.margin, s.margin_revenue)
      ORDER BY 1`,
  );
  return rows.map((r) => r.customer_id);
}
