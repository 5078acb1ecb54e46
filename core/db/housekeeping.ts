// Rows that only matter for a while: ids of handled Telegram/Slack updates (redeliveries come
// within hours; Telegram keeps undelivered updates for 24 hours) and used or expired one-time
// link tokens. Deleting them keeps those tables, and the lookups on every update, small.
// On PGlite, which has no autovacuum, it also refreshes the planner's statistics of the tables
// that grew or shrank since they were last taken (the outbox, feedback, tickets: every query,
// not only the features that scoring reads, is planned from them).
import type { Database } from "./client";
import { analyzeGrownTables } from "./planner-statistics";

export interface HousekeepingOptions {
  now: Date;
  /** Keep handled-update ids this long (default 7 days). */
  processedUpdatesDays?: number;
  /** Keep link tokens this long after they expired (default 30 days). */
  linkTokensDays?: number;
}

export interface HousekeepingResult {
  processedUpdates: number;
  linkTokens: number;
  /** Tables whose planner statistics were refreshed (PGlite only; a server's autovacuum does it). */
  analyzed: string[];
}

/** Deletes what is past keeping. Safe to run at any time and from several instances. */
export async function runHousekeeping(db: Database, options: HousekeepingOptions): Promise<HousekeepingResult> {
  const day = 86_400_000;
  const updatesBefore = new Date(options.now.getTime() - (options.processedUpdatesDays ?? 7) * day);
  const tokensBefore = new Date(options.now.getTime() - (options.linkTokensDays ?? 30) * day);
  const processedUpdates = await db.prisma.processedUpdate.deleteMany({
    where: { processedAt: { lt: updatesBefore } },
  });
  const linkTokens = await db.prisma.linkToken.deleteMany({ where: { expiresAt: { lt: tokensBefore } } });
  const analyzed = await analyzeGrownTables(db, "all");
  return { processedUpdates: processedUpdates.count, linkTokens: linkTokens.count, analyzed };
}
