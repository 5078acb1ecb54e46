-- AlterTable
ALTER TABLE "ticket_messages" ADD COLUMN     "attachments" JSONB;

