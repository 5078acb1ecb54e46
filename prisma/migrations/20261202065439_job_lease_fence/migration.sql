-- AlterTable
ALTER TABLE "job_leases" ADD COLUMN     "fence" INTEGER NOT NULL DEFAULT 0;

