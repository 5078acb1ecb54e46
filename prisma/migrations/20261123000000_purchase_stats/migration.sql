-- Each customer's purchase totals, kept up to date by statement triggers on purchases, so a
-- scoring run as of now reads one row per customer instead of aggregating every purchase.

-- CreateTable
CREATE TABLE "customer_purchase_stats" (
    "customer_id" INTEGER NOT NULL,
    "purchase_count" INTEGER NOT NULL,
    "purchase_days" INTEGER NOT NULL,
    "first_purchase_at" TIMESTAMP(3) NOT NULL,
    "last_purchase_at" TIMESTAMP(3) NOT NULL,
    "revenue" DECIMAL(18,2) NOT NULL,
    "margin" DECIMAL(18,2),
    "margin_revenue" DECIMAL(18,2),

    CONSTRAINT "customer_purchase_stats_pkey" PRIMARY KEY ("customer_id")
);

-- AddForeignKey
ALTER TABLE "customer_purchase_stats" ADD CONSTRAINT "customer_purchase_stats_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Recounts the given customers' totals from their purchases: a customer without purchases left
-- loses the row. Recounting (rather than adding the new rows to the old totals) gives the same
-- result whatever the order the triggers of one statement fire in (an upsert fires both the
-- update and the insert trigger) and stays exact for the first and last purchase and the count of
-- distinct days after updates and deletes.
-- Writers take one transaction-scoped lock first, so two transactions that add purchases of the
-- same customer at once count each other's rows: the second waits for the first to commit, and
-- its recount then sees them (READ COMMITTED takes a new snapshot per statement).
CREATE FUNCTION customer_purchase_stats_refresh(ids INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(-7305111000000000001);
  DELETE FROM customer_purchase_stats s
   WHERE s.customer_id = ANY(ids)
     AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = s.customer_id);
  INSERT INTO customer_purchase_stats AS s
         (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue)
  SELECT p.customer_id, count(*)::int, count(DISTINCT p.purchased_at::date)::int, min(p.purchased_at), max(p.purchased_at),
         sum(p.amount), sum(p.gross_margin), sum(p.amount) FILTER (WHERE p.gross_margin IS NOT NULL)
    FROM purchases p
   WHERE p.customer_id = ANY(ids)
   GROUP BY p.customer_id
  ON CONFLICT (customer_id) DO UPDATE SET
    purchase_count = excluded.purchase_count, purchase_days = excluded.purchase_days,
    first_purchase_at = excluded.first_purchase_at, last_purchase_at = excluded.last_purchase_at,
    revenue = excluded.revenue, margin = excluded.margin, margin_revenue = excluded.margin_revenue;
END $$;

CREATE FUNCTION customer_purchase_stats_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM customer_purchase_stats_refresh(ARRAY(SELECT DISTINCT customer_id FROM new_purchases));
  RETURN NULL;
END $$;

CREATE FUNCTION customer_purchase_stats_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM customer_purchase_stats_refresh(ARRAY(
    SELECT customer_id FROM old_purchases UNION SELECT customer_id FROM new_purchases));
  RETURN NULL;
END $$;

CREATE FUNCTION customer_purchase_stats_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM customer_purchase_stats_refresh(ARRAY(SELECT DISTINCT customer_id FROM old_purchases));
  RETURN NULL;
END $$;

CREATE FUNCTION customer_purchase_stats_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE customer_purchase_stats;
  RETURN NULL;
END $$;

CREATE TRIGGER customer_purchase_stats_insert AFTER INSERT ON purchases
  REFERENCING NEW TABLE AS new_purchases FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_after_insert();
CREATE TRIGGER customer_purchase_stats_update AFTER UPDATE ON purchases
  REFERENCING OLD TABLE AS old_purchases NEW TABLE AS new_purchases FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_after_update();
CREATE TRIGGER customer_purchase_stats_delete AFTER DELETE ON purchases
  REFERENCING OLD TABLE AS old_purchases FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_after_delete();
CREATE TRIGGER customer_purchase_stats_truncate AFTER TRUNCATE ON purchases
  FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_after_truncate();

-- The totals of the purchases already there.
INSERT INTO customer_purchase_stats
       (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue)
SELECT customer_id, count(*)::int, count(DISTINCT purchased_at::date)::int, min(purchased_at), max(purchased_at),
       sum(amount), sum(gross_margin), sum(amount) FILTER (WHERE gross_margin IS NOT NULL)
  FROM purchases
 GROUP BY customer_id;
