// The staff desk's health: places staff alerts cannot reach (raised once, cleared by the next
// success) and the alerts still waiting to be posted. `/retention status` and the health
// endpoint read the same `staffDeskStatus`.
import { sqlTimestamp } from "../messaging/outbox";
import type { Database } from "../db/client";
import { STAFF_ALERT_TYPES } from "./ticket-desk";

export interface DeskProblem {
  key: string;
  /** The provider's error code, e.g. `not_in_channel`, `channel_not_found`, `token_revoked`. */
  reason: string;
  since: Date;
  lastSeenAt: Date;
  alertedAt: Date | null;
  alertedTo: string | null;
}

export interface StaffDeskStatus {
  /** True when nothing is blocked and no alert is overdue. */
  ok: boolean;
  problems: DeskProblem[];
  /** Staff alerts (ticket posts) not yet posted. */
  pending: number;
  /** Of those, the ones that failed at least once and are backing off. */
  failing: number;
  oldestPendingAt: Date | null;
  /** The newest failure reason among pending alerts. */
  lastError: string | null;
}

/**
 * Records that `key` cannot be reached for `reason`. Returns true when nobody has been told
 * yet: the caller raises the one alert and then calls `markDeskProblemAlerted`.
 */
export async function recordDeskProblem(
  db: Database,
  key: string,
  reason: string,
  now: Date,
): Promise<{ alertDue: boolean }> {
  const rows = await db.prisma.$queryRaw<{ alerted_at: Date | null }[]>`
    INSERT INTO desk_problems (key, reason, since, last_seen_at)
    VALUES (${key}, ${reason}, ${sqlTimestamp(now)}, ${sqlTimestamp(now)})
    ON CONFLICT (key) DO UPDATE SET reason = EXCLUDED.reason, last_seen_at = EXCLUDED.last_seen_at
    RETURNING alerted_at`;
  return { alertDue: rows[0]?.alerted_at === null };
}

/** Remembers who was told about the problem, so the alert is raised once. */
export async function markDeskProblemAlerted(db: Database, key: string, to: string, now: Date): Promise<void> {
  await db.prisma.deskProblem.updateMany({ where: { key }, data: { alertedAt: now, alertedTo: to } });
}

/** Clears a problem after a success; returns it when there was one (to say it is over). */
export async function clearDeskProblem(db: Database, key: string): Promise<DeskProblem | null> {
  const rows = await db.prisma.deskProblem.findMany({ where: { key } });
  if (rows.length === 0) return null;
  await db.prisma.deskProblem.deleteMany({ where: { key } });
  return rows[0]!;
}

/** The desk's state for `/retention status` and the health endpoint. */
export async function staffDeskStatus(db: Database, options: { types?: string[] } = {}): Promise<StaffDeskStatus> {
  const types = options.types ?? STAFF_ALERT_TYPES;
  const [problems, pendingRows] = await Promise.all([
    db.prisma.deskProblem.findMany({ orderBy: { since: "asc" } }),
    db.prisma.$queryRaw<{ pending: number; failing: number; oldest: Date | null; last_error: string | null }[]>`
      SELECT count(*)::int AS pending, count(*) FILTER (WHERE last_error IS NOT NULL)::int AS failing,
        min(created_at) AS oldest,
        (SELECT last_error FROM staff_events WHERE processed_at IS NULL AND last_error IS NOT NULL
           AND type = ANY(${types}::text[]) ORDER BY id DESC LIMIT 1) AS last_error
      FROM staff_events WHERE processed_at IS NULL AND type = ANY(${types}::text[])`,
  ]);
  const p = pendingRows[0];
  return {
    ok: problems.length === 0 && (p?.failing ?? 0) === 0,
    problems,
    pending: p?.pending ?? 0,
    failing: p?.failing ?? 0,
    oldestPendingAt: p?.oldest ?? null,
    lastError: p?.last_error ?? null,
  };
}
