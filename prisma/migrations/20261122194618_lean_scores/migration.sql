-- Scores are written a million rows at a time: drop the surrogate id (the key is run + customer),
-- store reasons as json (no jsonb conversion on write) and drop the foreign keys, whose per-row
-- checks cost more than the write itself (see the Score model).
-- DropForeignKey
ALTER TABLE "scores" DROP CONSTRAINT "scores_run_id_fkey";

-- DropForeignKey
ALTER TABLE "scores" DROP CONSTRAINT "scores_customer_id_fkey";

-- DropForeignKey
ALTER TABLE "scores" DROP CONSTRAINT "scores_model_id_fkey";

-- DropIndex
DROP INDEX "scores_run_id_customer_id_key";

-- AlterTable
ALTER TABLE "scores" DROP CONSTRAINT "scores_pkey",
DROP COLUMN "id",
ALTER COLUMN "reasons" SET DATA TYPE JSON,
ADD CONSTRAINT "scores_pkey" PRIMARY KEY ("run_id", "customer_id");


-- The default keeps its old type through the column's type change: restate it as json.
ALTER TABLE "scores" ALTER COLUMN "reasons" SET DEFAULT '[]';
