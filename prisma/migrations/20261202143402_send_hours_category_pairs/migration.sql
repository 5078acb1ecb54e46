-- AlterTable
ALTER TABLE "outbox_messages" ADD COLUMN     "due_at" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "customer_send_hours" (
    "customer_id" INTEGER NOT NULL,
    "hour" INTEGER NOT NULL,
    "events" INTEGER NOT NULL,
    "computed_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "customer_send_hours_pkey" PRIMARY KEY ("customer_id")
);

-- CreateTable
CREATE TABLE "category_associations" (
    "category" TEXT NOT NULL,
    "other" TEXT NOT NULL,
    "customers" INTEGER NOT NULL,
    "lift" DOUBLE PRECISION NOT NULL,
    "cosine" DOUBLE PRECISION NOT NULL,
    "computed_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "category_associations_pkey" PRIMARY KEY ("category","other")
);

-- AddForeignKey
ALTER TABLE "customer_send_hours" ADD CONSTRAINT "customer_send_hours_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

