// The scheduler: node-cron schedules from configuration (cron expressions and time zone), one
// task per job. Any number of instances may run against one database:
// - `noOverlap` keeps a job from overlapping itself inside one process;
// - a lease row (`job_leases`, on the database's clock) keeps it from overlapping across
//   processes and hosts; the holder renews it while the job runs, and a run whose lease is lost
//   (taken by another instance, or not renewed in time) is stopped: its abort signal fires and
//   its database refuses every further query (see fenced-database.ts);
// - a unique run row per (job, slot) (`job_runs`) makes each scheduled slot run exactly once.
//
// node-cron 4 also offers `distributed: true` with a pluggable `runCoordinator`
// (`shouldRun(key, ttlMs)` / `onComplete(key)`). It is not used: it elects one instance per fire
// only (a long run of one slot may overlap the next slot's run on another instance), has no
// renewal, and gives the job no way to learn that its election lapsed, so it can neither stop
// nor fence a run that outlives its TTL. The lease below does all three.
import cron, { type ScheduledTask } from "node-cron";
import { noMetrics, secondsSince, type JobRunOutcome, type Metrics } from "../core/ops/metrics";
import type { AppContext } from "./context";
import { fencedDatabase, LeaseLostError } from "./fenced-database";
import { acquireLease, claimSlot, finishRun, releaseLease, renewLease, type Lease } from "./job-lease";
import type { JobDefinition, JobName } from "./job-registry";
import { newWorkerId } from "./worker-id";

export type SlotOutcome =
  | { type: "ran"; runId: number; stats: Record<string, unknown> }
  | { type: "failed"; runId: number; error: string }
  /** The run's lease was lost while it ran (another instance may have it): the run was stopped. */
  | { type: "lost"; runId: number; error: string }
  /** Another instance already ran (or is running) this slot. */
  | { type: "taken" }
  /** The job is still running from an earlier slot (here or elsewhere). */
  | { type: "busy" };

export interface SlotOptions {
  holder: string;
  /** How long a lease lasts without renewal; renewed every quarter of it while running. */
  leaseMs?: number;
  metrics?: Metrics;
}

/** The slot id of a scheduled time: its instant to the second, in UTC. */
export function slotOf(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
}

/**
 * Keeps a lease renewed while its run lasts and calls `lose` once if it is lost: at once when a
 * renewal finds the lease taken, or when no renewal has succeeded for three quarters of the
 * lease (the database unreachable): the run stops a quarter of a lease before anyone else could
 * take it. Times here are the process's monotonic clock, only ever compared with itself.
 */
function keepLease(ctx: AppContext, lease: Lease, leaseMs: number, lose: (reason: string) => void): () => void {
  const tick = Math.max(250, Math.floor(leaseMs / 4));
  let confirmedAt = performance.now(); // when the last successful renewal (or the acquisition) was sent
  let inFlight = false;
  const timer = setInterval(() => {
    if (performance.now() - confirmedAt >= leaseMs - tick) {
      lose(`its lease could not be renewed for ${Math.round((performance.now() - confirmedAt) / 1000)} s`);
      return;
    }
    if (inFlight) return;
    inFlight = true;
    const sentAt = performance.now();
    renewLease(ctx.db, lease, leaseMs)
      .then((held) => {
        if (held) confirmedAt = sentAt;
        else lose("its lease was taken by another instance");
      })
      .catch((error: unknown) => ctx.log.warn({ err: error, job: lease.job }, "lease renewal failed; retrying"))
      .finally(() => {
        inFlight = false;
      });
  }, tick);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs one slot of a job if this instance wins it: takes the job's lease (no overlap), then
 * records the slot in `job_runs` (once per slot), runs, and records the outcome.
 * A failing job is logged and recorded as `failed`, a stopped one as `lost`; it never throws
 * for the job's own failures.
 */
export async function runJobSlot(
  ctx: AppContext,
  job: JobDefinition,
  slot: string,
  options: SlotOptions,
): Promise<SlotOutcome> {
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const metrics = options.metrics ?? noMetrics;
  const { holder } = options;
  const exclusive = job.exclusive !== false;
  const lease = exclusive ? await acquireLease(ctx.db, job.name, holder, leaseMs, slot) : null;
  if (exclusive && !lease) {
    ctx.log.info({ job: job.name, slot }, "job still running elsewhere; slot skipped here");
    return { type: "busy" };
  }
  const abort = new AbortController();
  let stopKeeping: (() => void) | undefined;
  try {
    const runId = await claimSlot(ctx.db, job.name, slot, holder);
    if (runId === null) return { type: "taken" };
    if (lease)
      stopKeeping = keepLease(ctx, lease, leaseMs, (reason) => {
        if (abort.signal.aborted) return;
        ctx.log.error({ job: job.name, slot, holder, fence: lease.fence, reason }, "lease lost; stopping the job");
        abort.abort(new LeaseLostError(job.name, reason));
      });
    const started = performance.now();
    const finish = (outcome: JobRunOutcome) => metrics.jobRun(job.name, outcome, secondsSince(started));
    const jobCtx = lease ? { ...ctx, db: fencedDatabase(ctx.db, abort.signal) } : ctx;
    try {
      ctx.log.info({ job: job.name, slot, holder }, "job started");
      const stats = await job.run(jobCtx, { signal: abort.signal, lease });
      // A run that finished after losing its lease may have overlapped another: say so.
      if (abort.signal.aborted) throw abort.signal.reason;
      await finishRun(ctx.db, runId, { status: "ok", stats });
      finish("ok");
      return { type: "ran", runId, stats };
    } catch (error) {
      const lost = abort.signal.aborted;
      const cause = lost ? abort.signal.reason : error;
      const message = cause instanceof Error ? cause.message.slice(0, 1000) : String(cause);
      if (!lost) ctx.log.error({ err: error, job: job.name, slot }, "job failed");
      await finishRun(ctx.db, runId, { status: lost ? "lost" : "failed", error: message });
      finish(lost ? "lost" : "failed");
      return lost ? { type: "lost", runId, error: message } : { type: "failed", runId, error: message };
    }
  } finally {
    stopKeeping?.();
    // A lost lease is someone else's now; releasing it is fenced off anyway.
    if (lease && !abort.signal.aborted) await releaseLease(ctx.db, lease).catch(() => undefined);
  }
}

export interface SchedulerOptions {
  jobs: Map<JobName, JobDefinition>;
  /** Schedule only these (default all). */
  only?: JobName[];
  /** Cron expressions overriding configuration (tests). */
  cron?: Partial<Record<JobName, string>>;
  holder?: string;
  leaseMs?: number;
  metrics?: Metrics;
  /** Called after each slot, whatever happened (tests, metrics). */
  onSlot?: (job: JobName, slot: string, outcome: SlotOutcome) => void;
}

export interface RunningScheduler {
  holder: string;
  tasks: Map<JobName, ScheduledTask>;
  /** Stops scheduling and waits for running jobs to finish. */
  stop(): Promise<void>;
}

// node-cron's own messages go to our logger; a blocked overlap is expected, so only debug.
function cronLogger(ctx: AppContext, job: string) {
  return {
    info: (message: string) => ctx.log.debug({ job }, message),
    warn: (message: string) => ctx.log.debug({ job }, message),
    error: (message: string | Error, error?: Error) => ctx.log.error({ job, err: error ?? message }, "node-cron error"),
    debug: (message: string | Error) => ctx.log.trace({ job }, String(message)),
  };
}

/** Starts one node-cron task per job, in `config.schedule.timeZone`. */
export function startScheduler(ctx: AppContext, options: SchedulerOptions): RunningScheduler {
  const holder = options.holder ?? newWorkerId();
  const tasks = new Map<JobName, ScheduledTask>();
  const running = new Set<Promise<unknown>>();
  for (const [name, job] of options.jobs) {
    if (options.only && !options.only.includes(name)) continue;
    const expression = options.cron?.[name] ?? job.cronFrom(ctx.config);
    const task = cron.schedule(
      expression,
      async (context) => {
        const slot = slotOf(context.date);
        const work = runJobSlot(ctx, job, slot, { holder, leaseMs: options.leaseMs, metrics: options.metrics }).then(
          (outcome) => {
            options.onSlot?.(name, slot, outcome);
            return outcome;
          },
        );
        running.add(work);
        try {
          await work;
        } finally {
          running.delete(work);
        }
      },
      {
        timezone: ctx.config.schedule.timeZone,
        name: `retention:${name}:${holder}`,
        noOverlap: true,
        logger: cronLogger(ctx, name),
      },
    );
    tasks.set(name, task);
    ctx.log.info({ job: name, cron: expression, timeZone: ctx.config.schedule.timeZone }, "job scheduled");
  }
  return {
    holder,
    tasks,
    async stop() {
      for (const task of tasks.values()) await task.stop();
      await Promise.allSettled([...running]);
      for (const task of tasks.values()) await task.destroy();
    },
  };
}
