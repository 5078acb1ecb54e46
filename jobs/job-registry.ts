// Every job the scheduler and `retention run <job>` know, in one place.
import type { Config } from "../core/config/config";
import { campaignJob } from "./campaign.job";
import type { AppContext } from "./context";
import { digestJob } from "./digest.job";
import { dispatchJob } from "./dispatch.job";
import { housekeepingJob } from "./housekeeping.job";
import type { Lease } from "./job-lease";
import { scoreJob } from "./score.job";
import { servqualSurveyJob, surveyJob } from "./survey.job";
import { trainJob } from "./train.job";

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

/** The jobs available in this build. */
export async function loadJobs(): Promise<Map<JobName, JobDefinition>> {
  return new Map<JobName, JobDefinition>([
    ["score", scoreJob],
    ["train", trainJob],
    ["campaign", campaignJob],
    ["dispatch", dispatchJob],
    ["survey", surveyJob],
    ["survey-servqual", servqualSurveyJob],
    ["digest", digestJob],
    ["housekeeping", housekeepingJob],
  ]);
}
