// Coordination of scheduled jobs across instances sharing one database:
// - a lease row per job (`job_leases`) so a job never overlaps itself, even across hosts; the
//   holder renews it while running, and a crashed holder's lease simply expires;
// - a run row per (job, slot) (`job_runs`, unique) so each scheduled slot runs once.
import type { Database } from "../core/db/client";
import { sqlTimestamp } from "../core/messaging/outbox";

/** Takes the job's lease if it is free or expired. */
export async function acquireLease(
  db: Database,
  job: string,
  holder: string,
  now: Date,
  leaseMs: number,
  slot: string | null,
): Promise<boolean> {
  const rows = await db.prisma.$queryRaw<{ name: string }[]>`
    INSERT INTO job_leases (name, holder, leased_at, expires_at, last_slot)
    VALUES (${job}, ${holder}, ${sqlTimestamp(now)}, ${sqlTimestamp(new Date(now.getTime() + leaseMs))}, ${slot})
    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, leased_at = EXCLUDED.leased_at, expires_at = EXCLUDED.expires_at,
      last_slot = coalesce(EXCLUDED.last_slot, job_leases.last_slot)
    WHERE job_leases.expires_at <= ${sqlTimestamp(now)}
    RETURNING name`;
  return rows.length === 1;
}

/** Extends a held lease; false when it was lost (expired and taken by another instance). */
export async function renewLease(
  db: Database,
  job: string,
  holder: string,
  now: Date,
  leaseMs: number,
): Promise<boolean> {
  const n = await db.prisma.$executeRaw`
    UPDATE job_leases SET expires_at = ${sqlTimestamp(new Date(now.getTime() + leaseMs))} WHERE name = ${job} AND holder = ${holder}`;
  return n === 1;
}

export async function releaseLease(db: Database, job: string, holder: string, now: Date): Promise<void> {
  await db.prisma
    .$executeRaw`UPDATE job_leases SET expires_at = ${sqlTimestamp(now)} WHERE name = ${job} AND holder = ${holder}`;
}

/** Records the start of a slot's run; null when the slot already has a row (it ran elsewhere). */
export async function claimSlot(
  db: Database,
  job: string,
  slot: string,
  holder: string,
  now: Date,
  status = "running",
): Promise<number | null> {
  const rows = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO job_runs (job, slot, holder, status, started_at) VALUES (${job}, ${slot}, ${holder}, ${status}, ${sqlTimestamp(now)})
    ON CONFLICT (job, slot) DO NOTHING RETURNING id`;
  return rows[0]?.id ?? null;
}

export async function finishRun(
  db: Database,
  runId: number,
  now: Date,
  outcome: { status: "ok" | "failed"; stats?: unknown; error?: string },
): Promise<void> {
  await db.prisma.$executeRaw`
    UPDATE job_runs SET status = ${outcome.status}, stats = ${JSON.stringify(outcome.stats ?? {})}::jsonb, error = ${outcome.error ?? null},
      finished_at = ${sqlTimestamp(now)}
    WHERE id = ${runId}`;
}
