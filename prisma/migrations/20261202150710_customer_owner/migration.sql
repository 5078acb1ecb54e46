-- AlterTable
ALTER TABLE "customers" ADD COLUMN     "owner_slack_id" TEXT;

