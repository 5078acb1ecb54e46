// Every job the scheduler and `retention run <job>` know, in one place.
import type { Config } from "../core/config/config";
import type { AppContext } from "./context";
import type { Lease } from "./job-lease";

export const JOB_NAMES = [
  "score",
  "train",
  "campaign",
  "dispatch",
  "survey",
  "survey-servqual",
  "digest",
  "housekeeping",
] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface JobDefinition {
  name: string;
  cronFrom(config: Config): string;
  /**
   * false: instances may run it side by side (the dispatcher: its claims are SKIP LOCKED), so
   * no lease is taken and a crashed run never blocks the next; each slot still runs once.
   */
  exclusive?: boolean;
  /**
   * Runs once. Under the scheduler (`run` given), `ctx.db` refuses every query once the run's lease is lost; a long job should also
   * watch `run.signal` and stop at once when it fires.
   */
  run(ctx: AppContext, run?: JobRun): Promise<Record<string, unknown>>;
}

/** What a job gets to know about its own run. */
export interface JobRun {
  /** Fires when the run must stop: its lease was lost and another instance may run the job now. */
  signal: AbortSignal;
  /**
   * The lease the run holds (null for a non-exclusive job). To fence a transaction's writes, call
   * `holdsLease(tx, lease)` first inside it and write nothing when it answers false.
   */
  lease: Lease | null;
}

// Each job's module is loaded when the job is: `retention run survey` does not load the trainer.
const JOB_MODULES: Record<JobName, () => Promise<JobDefinition>> = {
  score: async () => (await import("./score.job")).scoreJob,
  train: async () => (await import("./train.job")).trainJob,
  campaign: async () => (await import("./campaign.job")).campaignJob,
  dispatch: async () => (await import("./dispatch.job")).dispatchJob,
  survey: async () => (await import("./survey.job")).surveyJob,
  "survey-servqual": async () => (await import("./survey.job")).servqualSurveyJob,
  digest: async () => (await import("./digest.job")).digestJob,
  housekeeping: async () => (await import("./housekeeping.job")).housekeepingJob,
};

/** One job's definition. */
export async function loadJob(name: JobName): Promise<JobDefinition> {
  return JOB_MODULES[name]();
}

/** Every job of this build, by name. */
export async function loadJobs(): Promise<Map<JobName, JobDefinition>> {
  return new Map(await Promise.all(JOB_NAMES.map(async (name) => [name, await loadJob(name)] as const)));
}
