-- CreateTable
CREATE TABLE "slack_media_uploads" (
    "id" SERIAL NOT NULL,
    "ticket_message_id" INTEGER NOT NULL,
    "attachment_index" INTEGER NOT NULL,
    "slack_file_id" TEXT NOT NULL,
    "completed_at" TIMESTAMP(3),
    "deleted_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "slack_media_uploads_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "slack_reply_files" (
    "id" SERIAL NOT NULL,
    "slack_file_id" TEXT NOT NULL,
    "slack_ts" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "ticket_message_id" INTEGER,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "slack_reply_files_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "slack_media_uploads_ticket_message_id_attachment_index_key" ON "slack_media_uploads"("ticket_message_id", "attachment_index");

-- CreateIndex
CREATE UNIQUE INDEX "slack_reply_files_slack_file_id_key" ON "slack_reply_files"("slack_file_id");

-- CreateIndex
CREATE INDEX "slack_reply_files_slack_ts_idx" ON "slack_reply_files"("slack_ts");

-- AddForeignKey
ALTER TABLE "slack_media_uploads" ADD CONSTRAINT "slack_media_uploads_ticket_message_id_fkey" FOREIGN KEY ("ticket_message_id") REFERENCES "ticket_messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "slack_reply_files" ADD CONSTRAINT "slack_reply_files_ticket_message_id_fkey" FOREIGN KEY ("ticket_message_id") REFERENCES "ticket_messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

