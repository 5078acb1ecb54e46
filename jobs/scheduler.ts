// The scheduler: node-cron schedules from configuration (cron expressions and time zone), one
// task per job. Any number of instances may run against one PostgreSQL database:
// - `noOverlap` keeps a job from overlapping itself inside one process;
// - a lease row (`job_leases`) keeps it from overlapping across processes and hosts;
// - a unique run row per (job, slot) (`job_runs`) makes each scheduled slot run exactly once.
import cron, { type ScheduledTask } from "node-cron";
import type { AppContext } from "./context";
import { acquireLease, claimSlot, finishRun, releaseLease, renewLease } from "./job-lease";
import type { JobDefinition, JobName } from "./job-registry";
import { newWorkerId } from "./dispatch.job";

export type SlotOutcome =
  | { type: "ran"; runId: number; stats: Record<string, unknown> }
  | { type: "failed"; runId: number; error: string }
  /** Another instance already ran (or is running) this slot. */
  | { type: "taken" }
  /** The job is still running from an earlier slot (here or elsewhere). */
  | { type: "busy" };

export interface SlotOptions {
  holder: string;
  /** How long a lease lasts without renewal; renewed every third of it while running. */
  leaseMs?: number;
}

/** The slot id of a scheduled time: its instant to the second, in UTC. */
export function slotOf(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
}

/**
 * Runs one slot of a job if this instance wins it: takes the job's lease (no overlap), then
 * records the slot in `job_runs` (once per slot), runs, and records the outcome.
 * A failing job is logged and recorded as `failed`; it never throws.
 */
export async function runJobSlot(
  ctx: AppContext,
  job: JobDefinition,
  slot: string,
  options: SlotOptions,
): Promise<SlotOutcome> {
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const { holder } = options;
  const exclusive = job.exclusive !== false;
  if (exclusive && !(await acquireLease(ctx.db, job.name, holder, ctx.now(), leaseMs, slot))) {
    ctx.log.info({ job: job.name, slot }, "job still running elsewhere; slot skipped here");
    return { type: "busy" };
  }
  let renewer: NodeJS.Timeout | undefined;
  try {
    const runId = await claimSlot(ctx.db, job.name, slot, holder, ctx.now());
    if (runId === null) return { type: "taken" };
    renewer = exclusive
      ? setInterval(
          () => {
            renewLease(ctx.db, job.name, holder, ctx.now(), leaseMs).catch((error: unknown) =>
              ctx.log.warn({ err: error, job: job.name }, "lease renewal failed"),
            );
          },
          Math.max(1000, Math.floor(leaseMs / 3)),
        )
      : undefined;
    renewer?.unref();
    try {
      ctx.log.info({ job: job.name, slot, holder }, "job started");
      const stats = await job.run(ctx);
      await finishRun(ctx.db, runId, ctx.now(), { status: "ok", stats });
      return { type: "ran", runId, stats };
    } catch (error) {
      const message = error instanceof Error ? error.message.slice(0, 1000) : String(error);
      ctx.log.error({ err: error, job: job.name, slot }, "job failed");
      await finishRun(ctx.db, runId, ctx.now(), { status: "failed", error: message });
      return { type: "failed", runId, error: message };
    }
  } finally {
    if (renewer) clearInterval(renewer);
    if (exclusive) await releaseLease(ctx.db, job.name, holder, ctx.now()).catch(() => undefined);
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
        const work = runJobSlot(ctx, job, slot, { holder, leaseMs: options.leaseMs }).then((outcome) => {
          options.onSlot?.(name, slot, outcome);
          return outcome;
        });
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
