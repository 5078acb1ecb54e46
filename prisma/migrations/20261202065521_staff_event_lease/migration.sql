-- AlterTable
ALTER TABLE "staff_events" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "claimed_until" TIMESTAMP(3),
ADD COLUMN     "last_error" TEXT,
ADD COLUMN     "next_attempt_at" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "desk_problems" (
    "key" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "since" TIMESTAMP(3) NOT NULL,
    "last_seen_at" TIMESTAMP(3) NOT NULL,
    "alerted_at" TIMESTAMP(3),
    "alerted_to" TEXT,

    CONSTRAINT "desk_problems_pkey" PRIMARY KEY ("key")
);

