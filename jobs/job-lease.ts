// Coordination of scheduled jobs across instances sharing one database:
// - a lease row per job (`job_leases`) so a job never overlaps itself, even across hosts; the
//   holder renews it while running, and a crashed holder's lease simply expires;
// - every acquisition raises the row's fencing token (`fence`), so a holder whose lease expired
//   and was taken by another instance finds out at its next renewal (or fence check) and stops;
// - a run row per (job, slot) (`job_runs`, unique) so each scheduled slot runs once.
// Every instant here is the database's clock (`now()`), never a host's: instances on hosts whose
// clocks disagree still agree on when a lease expires.
import { Prisma } from "../generated/prisma/client";
import type { Database } from "../core/db/client";

/** A lease this instance holds: the fencing token identifies this very acquisition. */
export interface Lease {
  job: string;
  holder: string;
  fence: number;
}

/** The database's current instant as the store's `timestamp(3)` columns hold it (UTC wall time). */
const DB_NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

function dbNowPlus(ms: number): Prisma.Sql {
  return Prisma.sql`(now() AT TIME ZONE 'UTC') + ${Math.round(ms)}::int * interval '1 millisecond'`;
}

/** Takes the job's lease if it is free or expired (by the database's clock); null when it is held. */
export async function acquireLease(
  db: Database,
  job: string,
  holder: string,
  leaseMs: number,
  slot: string | null,
): Promise<Lease | null> {
  const rows = await db.prisma.$queryRaw<{ fence: number }[]>`
    INSERT INTO job_leases (name, holder, leased_at, expires_at, last_slot, fence)
    VALUES (${job}, ${holder}, ${DB_NOW}, ${dbNowPlus(leaseMs)}, ${slot}, 1)
    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, leased_at = EXCLUDED.leased_at,
      expires_at = EXCLUDED.expires_at, last_slot = coalesce(EXCLUDED.last_slot, job_leases.last_slot),
      fence = job_leases.fence + 1
    WHERE job_leases.expires_at <= ${DB_NOW}
    RETURNING fence`;
  const fence = rows[0]?.fence;
  return fence === undefined ? null : { job, holder, fence: Number(fence) };
}

/**
 * Extends a held lease by `leaseMs` from the database's now. False when the lease was lost: taken
 * by another instance (the fencing token moved on) or released. A lease that expired but that
 * nobody took is still ours: no other instance ran the job meanwhile.
 */
export async function renewLease(db: Database, lease: Lease, leaseMs: number): Promise<boolean> {
  const n = await db.prisma.$executeRaw`
    UPDATE job_leases SET expires_at = ${dbNowPlus(leaseMs)}
    WHERE name = ${lease.job} AND holder = ${lease.holder} AND fence = ${lease.fence}`;
  return n === 1;
}

/**
 * True while `lease` is still the current acquisition of its job. Inside a transaction, call it
 * first: the row lock (`FOR SHARE`) keeps another instance from taking the lease until the
 * transaction ends, so the transaction's writes are fenced.
 */
export async function holdsLease(db: Pick<Database["prisma"], "$queryRaw">, lease: Lease): Promise<boolean> {
  const rows = await db.$queryRaw<{ one: number }[]>`
    SELECT 1 AS one FROM job_leases WHERE name = ${lease.job} AND holder = ${lease.holder} AND fence = ${lease.fence}
    FOR SHARE`;
  return rows.length === 1;
}

export async function releaseLease(db: Database, lease: Lease): Promise<void> {
  await db.prisma.$executeRaw`
    UPDATE job_leases SET expires_at = ${DB_NOW}
    WHERE name = ${lease.job} AND holder = ${lease.holder} AND fence = ${lease.fence}`;
}

/** Records the start of a slot's run; null when the slot already has a row (it ran elsewhere). */
export async function claimSlot(
  db: Database,
  job: string,
  slot: string,
  holder: string,
  status = "running",
): Promise<number | null> {
  const rows = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO job_runs (job, slot, holder, status, started_at) VALUES (${job}, ${slot}, ${holder}, ${status}, ${DB_NOW})
    ON CONFLICT (job, slot) DO NOTHING RETURNING id`;
  return rows[0]?.id ?? null;
}

/** How a run ended: `lost` means its lease was lost while it ran and it was stopped. */
export type RunStatus = "ok" | "failed" | "lost";

export async function finishRun(
  db: Database,
  runId: number,
  outcome: { status: RunStatus; stats?: unknown; error?: string },
): Promise<void> {
  await db.prisma.$executeRaw`
    UPDATE job_runs SET status = ${outcome.status}, stats = ${JSON.stringify(outcome.stats ?? {})}::jsonb, error = ${outcome.error ?? null},
      finished_at = ${DB_NOW}
    WHERE id = ${runId}`;
}
