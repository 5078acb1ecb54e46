-- CreateIndex
CREATE INDEX "tickets_customer_id_status_idx" ON "tickets"("customer_id", "status");

