// Every job the scheduler and `retention run <job>` know, in one place.
import type { Config } from "../core/config/config";
import { campaignJob } from "./campaign.job";
import type { AppContext } from "./context";
import { dispatchJob } from "./dispatch.job";
import { scoreJob } from "./score.job";
import { surveyJob } from "./survey.job";
import { trainJob } from "./train.job";

export const JOB_NAMES = ["score", "train", "campaign", "dispatch", "survey", "digest"] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface JobDefinition {
  name: string;
  cronFrom(config: Config): string;
  /**
   * false: instances may run it side by side (the dispatcher: its claims are SKIP LOCKED), so
   * no lease is taken and a crashed run never blocks the next; each slot still runs once.
   */
  exclusive?: boolean;
  run(ctx: AppContext): Promise<Record<string, unknown>>;
}

function isJob(value: unknown): value is JobDefinition {
  return !!value && typeof value === "object" && typeof (value as JobDefinition).run === "function" && typeof (value as JobDefinition).cronFrom === "function";
}

/**
 * The jobs available in this build. The digest comes from the Slack side
 * (`jobs/digest.job.ts`, export `digestJob`) and is absent where that file is.
 */
export async function loadJobs(): Promise<Map<JobName, JobDefinition>> {
  const jobs = new Map<JobName, JobDefinition>([
    ["score", scoreJob],
    ["train", trainJob],
    ["campaign", campaignJob],
    ["dispatch", dispatchJob],
    ["survey", surveyJob],
  ]);
  try {
    const specifier = new URL("./digest.job.ts", import.meta.url).href;
    const mod = (await import(specifier)) as Record<string, unknown>;
    if (isJob(mod.digestJob)) jobs.set("digest", mod.digestJob);
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw error;
  }
  return jobs;
}
