-- Settling many customers at once (after an orders import, or a rebuild) writes their totals
-- without a foreign-key check per row where the session may (a superuser's: PGlite, a server
-- connected as one), as the staged orders import writes purchases: the customers are locked once,
-- set-based, FOR KEY SHARE, as each row's check would lock its customer. A customer deleted
-- before the lock has no purchases left to count (they go with it), and none can be deleted after
-- it until the totals are committed. The check cost about as much as writing the totals.
-- Otherwise as before (20261202105152_purchase_stats_items).

CREATE OR REPLACE FUNCTION customer_purchase_stats_settle() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  ids INTEGER[];
  whole BOOLEAN;
  bulk BOOLEAN;
  role TEXT := current_setting('session_replication_role');
BEGIN
  PERFORM pg_advisory_xact_lock(-7305111000000000001);
  WITH taken AS (DELETE FROM customer_purchase_stats_pending RETURNING customer_id)
  SELECT array_agg(DISTINCT customer_id) INTO ids FROM taken;
  IF ids IS NULL THEN
    RETURN 0;
  END IF;
  whole := cardinality(ids) > 10000 AND cardinality(ids) > (SELECT count(*) FROM customer_purchase_stats) / 4;
  bulk := cardinality(ids) >= 1000 AND current_setting('is_superuser') = 'on';
  IF bulk THEN
    IF whole THEN
      PERFORM 1 FROM customers FOR KEY SHARE;
    ELSE
      PERFORM 1 FROM customers WHERE id = ANY(ids) FOR KEY SHARE;
    END IF;
    PERFORM set_config('session_replication_role', 'replica', true);
  END IF;
  IF whole THEN
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
  ELSE
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
  END IF;
  IF bulk THEN
    PERFORM set_config('session_replication_role', role, true);
  END IF;
  RETURN cardinality(ids);
END $$;
