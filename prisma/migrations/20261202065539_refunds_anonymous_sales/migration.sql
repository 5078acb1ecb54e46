-- AlterTable
ALTER TABLE "purchases" ADD COLUMN     "lines" INTEGER NOT NULL DEFAULT 1;

-- CreateTable
CREATE TABLE "refunds" (
    "id" SERIAL NOT NULL,
    "external_id" TEXT NOT NULL,
    "customer_id" INTEGER,
    "order_external_id" TEXT,
    "refunded_at" TIMESTAMP(3) NOT NULL,
    "amount" DECIMAL(14,2) NOT NULL,
    "quantity" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "anonymous_sales" (
    "id" SERIAL NOT NULL,
    "external_id" TEXT NOT NULL,
    "sold_at" TIMESTAMP(3) NOT NULL,
    "amount" DECIMAL(14,2) NOT NULL,
    "quantity" INTEGER NOT NULL DEFAULT 1,
    "lines" INTEGER NOT NULL DEFAULT 1,
    "category" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "anonymous_sales_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "refunds_external_id_key" ON "refunds"("external_id");

-- CreateIndex
CREATE INDEX "refunds_customer_id_refunded_at_idx" ON "refunds"("customer_id", "refunded_at");

-- CreateIndex
CREATE INDEX "refunds_refunded_at_idx" ON "refunds"("refunded_at");

-- CreateIndex
CREATE UNIQUE INDEX "anonymous_sales_external_id_key" ON "anonymous_sales"("external_id");

-- CreateIndex
CREATE INDEX "anonymous_sales_sold_at_idx" ON "anonymous_sales"("sold_at");

-- AddForeignKey
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Refunds change their customer's net revenue: note their customers for the purchase totals as
-- purchase writes do, and count revenue net of refunds when settling.
CREATE FUNCTION customer_purchase_stats_note_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO customer_purchase_stats_pending (customer_id)
    SELECT DISTINCT customer_id FROM new_refunds WHERE customer_id IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO customer_purchase_stats_pending (customer_id)
    SELECT customer_id FROM old_refunds WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM new_refunds WHERE customer_id IS NOT NULL;
  ELSE
    INSERT INTO customer_purchase_stats_pending (customer_id)
    SELECT DISTINCT customer_id FROM old_refunds WHERE customer_id IS NOT NULL;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER customer_purchase_stats_refund_insert AFTER INSERT ON refunds
  REFERENCING NEW TABLE AS new_refunds FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_note_refunds();
CREATE TRIGGER customer_purchase_stats_refund_update AFTER UPDATE ON refunds
  REFERENCING OLD TABLE AS old_refunds NEW TABLE AS new_refunds FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_note_refunds();
CREATE TRIGGER customer_purchase_stats_refund_delete AFTER DELETE ON refunds
  REFERENCING OLD TABLE AS old_refunds FOR EACH STATEMENT EXECUTE FUNCTION customer_purchase_stats_note_refunds();

-- As before, with revenue = purchases - refunds (net money).
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
           (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue)
    SELECT p.customer_id, p.purchase_count, p.purchase_days, p.first_purchase_at, p.last_purchase_at,
           p.revenue - coalesce(r.refunded, 0), p.margin, p.margin_revenue
      FROM (SELECT customer_id, count(*)::int AS purchase_count, count(DISTINCT purchased_at::date)::int AS purchase_days,
                   min(purchased_at) AS first_purchase_at, max(purchased_at) AS last_purchase_at, sum(amount) AS revenue,
                   sum(gross_margin) AS margin, sum(amount) FILTER (WHERE gross_margin IS NOT NULL) AS margin_revenue
              FROM purchases GROUP BY customer_id) p
      LEFT JOIN (SELECT customer_id, sum(amount) AS refunded FROM refunds WHERE customer_id IS NOT NULL GROUP BY customer_id) r
        ON r.customer_id = p.customer_id;
    RETURN cardinality(ids);
  END IF;
  DELETE FROM customer_purchase_stats s
   WHERE s.customer_id = ANY(ids)
     AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = s.customer_id);
  INSERT INTO customer_purchase_stats AS s
         (customer_id, purchase_count, purchase_days, first_purchase_at, last_purchase_at, revenue, margin, margin_revenue)
  SELECT p.customer_id, count(*)::int, count(DISTINCT p.purchased_at::date)::int, min(p.purchased_at), max(p.purchased_at),
         sum(p.amount) - coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.customer_id = p.customer_id), 0),
         sum(p.gross_margin), sum(p.amount) FILTER (WHERE p.gross_margin IS NOT NULL)
    FROM purchases p
   WHERE p.customer_id = ANY(ids)
   GROUP BY p.customer_id
  ON CONFLICT (customer_id) DO UPDATE SET
    purchase_count = excluded.purchase_count, purchase_days = excluded.purchase_days,
    first_purchase_at = excluded.first_purchase_at, last_purchase_at = excluded.last_purchase_at,
    revenue = excluded.revenue, margin = excluded.margin, margin_revenue = excluded.margin_revenue;
  RETURN cardinality(ids);
END $$;
