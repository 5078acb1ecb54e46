// `retention run <job>`: any scheduled job once, by hand (with the same lease and run record
// as the scheduler).
import type { Command } from "commander";
import { SURVEY_WAVE_KINDS, type SurveyWaveKind } from "../../core/surveys/survey-wave";
import { UserError } from "../context";
import { JOB_NAMES, loadJob, type JobName } from "../job-registry";
import { runJobSlot } from "../scheduler";
import { SURVEY_JOB_BY_KIND } from "../survey.job";
import { newWorkerId } from "../worker-id";
import { withContext } from "./options";

export function registerRunCommands(program: Command): void {
  program
    .command("run <job>")
    .description(`Run one job now: ${JOB_NAMES.join(" | ")}`)
    .option("--as-of <date>", "the clock the job uses (default: now)")
    .option("--kind <kind>", `survey only: which survey to invite to, ${SURVEY_WAVE_KINDS.join(" | ")} (default nps)`)
    .action(async (requested: string, opts: { asOf?: string; kind?: string }) => {
      let name = requested;
      if (opts.kind !== undefined) {
        if (requested !== "survey") throw new UserError(`--kind applies to \`run survey\` only, not "${requested}"`);
        if (!(SURVEY_WAVE_KINDS as readonly string[]).includes(opts.kind))
          throw new UserError(`--kind: "${opts.kind}" is not a survey; one of ${SURVEY_WAVE_KINDS.join(", ")}`);
        name = SURVEY_JOB_BY_KIND[opts.kind as SurveyWaveKind];
      }
      if (!(JOB_NAMES as readonly string[]).includes(name))
        throw new UserError(`unknown job "${name}": one of ${JOB_NAMES.join(", ")}`);
      const job = await loadJob(name as JobName);
      await withContext(opts.asOf, async (ctx) => {
        const outcome = await runJobSlot(ctx, job, `manual:${new Date().toISOString()}`, { holder: newWorkerId() });
        if (outcome.type === "busy")
          throw new UserError(`job "${name}" is already running (its lease is held); try again later`);
        if (outcome.type === "failed") throw new UserError(`job "${name}" failed: ${outcome.error}`, 1);
        if (outcome.type === "lost") throw new UserError(`job "${name}" was stopped: ${outcome.error}`, 1);
        if (outcome.type === "ran") process.stdout.write(`${JSON.stringify(outcome.stats, null, 2)}\n`);
      });
    });
}
