-- Each customer's purchase totals, so a scoring run as of now reads one row per customer instead
-- of aggregating every purchase. Statement triggers on purchases note the customers whose
-- purchases changed; customer_purchase_stats_settle() recounts them, set-based: the importer once
-- per file, scoring before it reads. Noting costs a write of the batch's customer ids; keeping
-- the totals up to date in the triggers themselves cost 30% of PGlite's import speed.

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

-- CreateTable
CREATE TABLE "customer_purchase_stats_pending" (
    "id" BIGSERIAL NOT NULL,
    "customer_id" INTEGER NOT NULL,

    CONSTRAINT "customer_purchase_stats_pending_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "customer_purchase_stats" ADD CONSTRAINT "customer_purchase_stats_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE FUNCTION customer_purchase_stats_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- each event's trigger names only the transition tables that event has
  IF TG_OP = 'INSERT' THEN
    INSERT INTO customer_purchase_stats_pending (customer_id) SELECT DISTINCT customer_id FROM new_purchases;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO customer_purchase_stats_pending (customer_id)
    SELECT customer_id FROM old_purchases UNION SELECT customer_id FROM new_purchases;
  ELSE
    INSERT INTO customer_purchase_stats_pending (customer_id) SELECT DISTINCT customer_id FROM old_purchases;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION customer_purchase_stats_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE customer_purchase_stats, customer_purchase_stats_pending;
  RETURN NULL;
END $$;

CREATE TRIGGER customer_purchase_stats_insert AFTER INSERT ON purchases
  REFERENCING NEW TABLE AS new_purchases FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_note();
CREATE TRIGGER customer_purchase_stats_update AFTER UPDATE ON purchases
  REFERENCING OLD TABLE AS old_purchases NEW TABLE AS new_purchases FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_note();
CREATE TRIGGER customer_purchase_stats_delete AFTER DELETE ON purchases
  REFERENCING OLD TABLE AS old_purchases FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_note();
CREATE TRIGGER customer_purchase_stats_truncate AFTER TRUNCATE ON purchases
  FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_after_truncate();

-- Recounts the noted customers from their purchases and returns how many: a customer without
-- purchases left loses the row; with many noted (a bulk load), everyone is recounted in one pass.
-- Settlers take a transaction-scoped lock, so two never interleave. The recount runs after the
-- pending rows are taken, with a newer snapshot: it sees at least their purchases. A writer that
-- commits later leaves its own pending row, for the next settle.
CREATE FUNCTION customer_purchase_stats_settle() RETURNS integer LANGUAGE plpgsql AS $$
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
           (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue)
    SELECT customer_id, count(*)::int, count(DISTINCT purchased_at::date)::int, min(purchased_at), max(purchased_at),
           sum(amount), sum(gross_margin), sum(amount) FILTER (WHERE gross_margin IS NOT NULL)
      FROM purchases
     GROUP BY customer_id;
    RETURN cardinality(ids);
  END IF;
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
  RETURN cardinality(ids);
END $$;

-- The totals of the purchases already there.
INSERT INTO customer_purchase_stats_pending (customer_id) SELECT DISTINCT customer_id FROM purchases;
SELECT customer_purchase_stats_settle();
