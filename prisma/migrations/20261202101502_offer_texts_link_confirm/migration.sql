-- AlterTable
ALTER TABLE "customers" ADD COLUMN     "telegram_linked_by" TEXT;

-- AlterTable
ALTER TABLE "offers" ADD COLUMN     "translations" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "link_tokens" ADD COLUMN     "pending_at" TIMESTAMP(3),
ADD COLUMN     "pending_chat_id" BIGINT,
ADD COLUMN     "pending_user_id" BIGINT;

