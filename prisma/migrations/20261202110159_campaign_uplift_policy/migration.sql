-- AlterTable
ALTER TABLE "campaigns" ADD COLUMN     "explore_share" DOUBLE PRECISION NOT NULL DEFAULT 0.1;

-- AlterTable
ALTER TABLE "campaign_assignments" ADD COLUMN     "expected_uplift" DOUBLE PRECISION,
ADD COLUMN     "explore" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "segment" TEXT;

