-- AlterTable
ALTER TABLE "processed_updates" ADD COLUMN     "handled_at" TIMESTAMP(3),
ADD COLUMN     "outcome" JSONB,
ADD COLUMN     "payload" JSONB;


-- Markers written before this migration stood for finished updates.
UPDATE "processed_updates" SET "handled_at" = "processed_at";
