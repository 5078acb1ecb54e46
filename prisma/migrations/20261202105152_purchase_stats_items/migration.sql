-- Each customer's purchase totals also count items (the purchases' quantities), so features can
-- read items per order and price per item from the totals as they read revenue. Revenue stays
-- net of refunds, as since the refunds migration.

-- AlterTable
ALTER TABLE "customer_purchase_stats" ADD COLUMN     "items" BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION customer_purchase_stats_settle() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  ids INTEGER[];
BEGIN
  PERFORM pg_advisory_xact_lock(-7305111000000000001);
  WITH taken AS (DELETE FROM customer_purchase_stats_pending RETURNING customer_id)
  SELECT array_agg(DISTINCT customer_id) INTO ids FROM taken;
  IF ids IS NULL THEN
    RETURN 0;
  END IF;
  IF cardinality(ids) > 10000 AND cardinality(ids) > (SELECT count(*) FROM customer_purchase_stats) / 4 THEN
    DELETE FROM customer_purchase_stats;
    INSERT INTO customer_purchase_stats
           (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue, items)
    SELECT p.customer_id, p.purchase_count, p.purchase_days, p.first_purchase_at, p.last_purchase_at,
           p.revenue - coalesce(r.refunded, 0), p.margin, p.margin_revenue, p.items
      FROM (SELECT customer_id, count(*)::int AS purchase_count, count(DISTINCT purchased_at::date)::int AS purchase_days,
                   min(purchased_at) AS first_purchase_at, max(purchased_at) AS last_purchase_at, sum(amount) AS revenue,
                   sum(gross_margin) AS margin, sum(amount) FILTER (WHERE gross_margin IS NOT NULL) AS margin_revenue,
                   sum(quantity) AS items
              FROM purchases GROUP BY customer_id) p
      LEFT JOIN (SELECT customer_id, sum(amount) AS refunded FROM refunds WHERE customer_id IS NOT NULL GROUP BY customer_id) r
        ON r.customer_id = p.customer_id;
    RETURN cardinality(ids);
  END IF;
  DELETE FROM customer_purchase_stats s
   WHERE s.customer_id = ANY(ids)
     AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = s.customer_id);
  INSERT INTO customer_purchase_stats AS s
         (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue, items)
  SELECT p.customer_id, count(*)::int, count(DISTINCT p.purchased_at::date)::int, min(p.purchased_at), max(p.purchased_at),
         sum(p.amount) - coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.customer_id = p.customer_id), 0),
         sum(p.gross_margin), sum(p.amount) FILTER (WHERE p.gross_margin IS NOT NULL), sum(p.quantity)
    FROM purchases p
   WHERE p.customer_id = ANY(ids)
   GROUP BY p.customer_id
  ON CONFLICT (customer_id) DO UPDATE SET
    purchase_count = excluded.purchase_count, purchase_days = excluded.purchase_days,
    first_purchase_at = excluded.first_purchase_at, last_purchase_at = excluded.last_purchase_at,
    revenue = excluded.revenue, margin = excluded.margin, margin_revenue = excluded.margin_revenue,
    items = excluded.items;
  RETURN cardinality(ids);
END $$;

-- Recount the totals already there, items included.
INSERT INTO customer_purchase_stats_pending (customer_id) SELECT customer_id FROM customer_purchase_stats;
SELECT customer_purchase_stats_settle();
