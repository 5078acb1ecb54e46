import type { Database } from "../db/client";

/** The two newest scoring runs that hold scores: the current one and the one before it. */
export interface ScoreRunPair {
  current: { id: number; asOf: Date } | null;
  previous: { id: number; asOf: Date } | null;
}

/**
 * Finds the current scoring run (the newest finished run with scores, as core/analytics reads
 * it) and the previous one, so that
 * staff queries and the digest all read "the current score" the same way.
 */
export async function latestScoreRuns(db: Database): Promise<ScoreRunPair> {
  const rows = await db.prisma.$queryRaw<{ id: number; as_of: Date }[]>`
    SELECT r.id, r.as_of FROM score_runs r
    WHERE r.finished_at IS NOT NULL AND EXISTS (SELECT 1 FROM scores s WHERE s.run_id = r.id)
    ORDER BY r.id DESC LIMIT 2`;
  const [current, previous] = rows;
  return {
    current: current ? { id: current.id, asOf: current.as_of } : null,
    previous: previous ? { id: previous.id, asOf: previous.as_of } : null,
  };
}
