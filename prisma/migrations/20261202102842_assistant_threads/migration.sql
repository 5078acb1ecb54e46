-- AlterTable
ALTER TABLE "assistant_questions" ADD COLUMN     "disclosed" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "thread_ts" TEXT;

-- CreateIndex
CREATE INDEX "assistant_questions_channel_thread_ts_created_at_idx" ON "assistant_questions"("channel", "thread_ts", "created_at");

