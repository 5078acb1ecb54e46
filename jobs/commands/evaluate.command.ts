// `retention evaluate ...`: the models measured on files, without a database.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { evaluateHistory, type HistoryEvaluation } from "../../core/analytics/evaluate-history";
import { openDatabase } from "../../core/db/client";
import { applyMigrations } from "../../core/db/migrate";
import { importFile } from "../../core/import/importer";
import { evaluateLabeled, type LabeledEvaluation } from "../../core/analytics/evaluate-labeled";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { evaluateBacktest, type BacktestWindow } from "../../core/analytics/backtest";
import { renderGainsPng } from "../../core/analytics/gains-chart";
import { evaluateUplift, UpliftInputError, type UpliftEvaluation } from "../../core/analytics/uplift-evaluate";
import { buildContext, UserError } from "../context";
import { parseDate } from "./options";

const fixed = (v: number, digits = 4): string => v.toFixed(digits);
const signed = (v: number, digits = 4): string => (v >= 0 ? "+" : "") + v.toFixed(digits);

function printHistory(file: string, r: HistoryEvaluation): void {
  const seeds = (v: number[]) => v.map((a) => fixed(a)).join(", ");
  const lines = [
    `evaluation of ${file} as of ${r.cutoff}: the product's features and candidates, ${r.folds}-fold cross-validation`,
    `customers ${r.customers}, churned (no purchase in the ${r.horizonDays} days after the cut-off) ${(100 * r.churnRate).toFixed(1)}%`,
    `chosen model: ${r.chosen}, AUC ${fixed(r.auc)} (seed ${r.seeds[0]}); seeds ${r.seeds.join(", ")}: ${seeds(r.aucSeeds)}, mean ${fixed(r.aucMean)}`,
    ...Object.entries(r.models).map(
      ([name, m]) =>
        `  ${name.padEnd(9)} AUC ${fixed(m.auc)}  seeds ${seeds(m.aucSeeds)}  mean ${fixed(m.aucMean)}  (pooled ${fixed(m.aucPooled)}${name === r.chosen ? "" : `, ${signed(m.versusChosen.difference)} ± ${fixed(m.versusChosen.se)} vs ${r.chosen}`}), trained in ${m.trainingMs} ms`,
    ),
    "baselines (BG/NBD fitted on every customer at the cut-off, no labels):",
    `  recency      AUC ${fixed(r.baselines.recency.auc)}`,
    `  BG/NBD       AUC ${fixed(r.baselines.bgnbd.auc)}  (expected purchases)`,
    `  1-P(alive)   AUC ${fixed(r.baselines.palive.auc)}`,
    `BG/NBD (days, ${r.bgnbdDiagnosis.method}): r ${fixed(r.bgnbd.r)}  alpha ${fixed(r.bgnbd.alpha)}  a ${fixed(r.bgnbd.a)}  b ${fixed(r.bgnbd.b)}`,
    "calibration (deciles of the chosen model's out-of-fold probability):",
    "  bin  predicted  observed  customers",
    ...r.calibration.map(
      (b) =>
        `  ${String(b.bin).padStart(3)}  ${fixed(b.meanPredicted, 3).padStart(9)}  ${fixed(b.observedRate, 3).padStart(8)}  ${String(b.count).padStart(9)}`,
    ),
    `features (${r.features.length}): ${r.features.join(", ")}`,
  ];
  console.log(lines.join("\n"));
}

function printLabeled(file: string, r: LabeledEvaluation): void {
  const lines = [
    `labeled evaluation of ${file}`,
    `rows ${r.rows}, positives ("${r.positiveLabel}") ${r.positives} (${((100 * r.positives) / r.rows).toFixed(1)}%)`,
    `chosen model: ${r.chosen}, out-of-sample AUC ${fixed(r.auc)} (mean of folds ${r.aucFolds.map((a) => fixed(a, 3)).join(", ")}; pooled ${fixed(r.aucPooled)})`,
    ...Object.entries(r.models).map(
      ([name, m]) =>
        `  ${name.padEnd(9)} AUC ${fixed(m.auc)} (pooled ${fixed(m.aucPooled)}), trained in ${m.trainingMs} ms`,
    ),
    `features (${r.features.length}, encoders fitted inside each training fold): ${r.features.join(", ")}`,
    ...(r.skipped.length ? [`skipped: ${r.skipped.map((s) => `${s.column} (${s.reason})`).join(", ")}`] : []),
  ];
  console.log(lines.join("\n"));
}

function printBacktest(w: BacktestWindow, png: string | null): void {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const lines = [
    `out-of-time backtest: trained on customers as of ${w.trainAt} (labels: no purchase in the ${w.trainLabelDays} days to the cut-off), judged on ${w.customers} customers as of ${w.cutoff} over the next ${w.horizonDays} days (churn rate ${pct(w.churnRate)})`,
    `chosen model: ${w.chosen}, AUC ${fixed(w.auc)}`,
    ...Object.entries(w.models).map(([k, m]) => `  ${k.padEnd(12)} AUC ${fixed(m.auc)}  log-loss ${fixed(m.logLoss)}`),
    "baselines:",
    `  recency      AUC ${fixed(w.baselines.recency.auc)}`,
    `  BG/NBD       AUC ${fixed(w.baselines.bgnbd.auc)}  (expected purchases)`,
    `  1-P(alive)   AUC ${fixed(w.baselines.palive.auc)}`,
    `BG/NBD at the cut-off: ${w.bgnbd.method}${w.bgnbd.degenerate ? ` (maximum likelihood degenerated: ${w.bgnbd.reason})` : ""}`,
    "calibration (deciles of the chosen model's calibrated probability):",
    "  bin  predicted  observed  customers",
    ...w.calibration.map(
      (b) =>
        `  ${String(b.bin).padStart(3)}  ${fixed(b.meanPredicted, 3).padStart(9)}  ${fixed(b.observedRate, 3).padStart(8)}  ${String(b.count).padStart(9)}`,
    ),
    "lift by decile (riskiest first): " + w.lift.map((d) => d.lift.toFixed(2)).join(" "),
    ...(png ? [`gains chart: ${png}`] : []),
  ];
  console.log(lines.join("\n"));
}

function requireFile(file: string): void {
  if (!existsSync(file)) throw new UserError(`no such file: ${file}`);
}

/** Registers `evaluate cdnow`, `evaluate labeled`, `evaluate uplift` (files, no database) and `evaluate backtest` (the store). */
export function registerEvaluateCommands(program: Command): void {
  const evaluate = program
    .command("evaluate")
    .description("Measure the churn and value models on a file, or out of time on the store's own history");
  evaluate
    .command("backtest")
    .description(
      "Out-of-time backtest on the store: candidates trained as of the cut-off minus the horizon, judged on the " +
        "horizon after the cut-off, beside recency, BG/NBD and 1 - P(alive); calibration, lift and a gains chart PNG",
    )
    .option("--cutoff <date>", "the judging cut-off (default: the last purchase day minus the horizon)")
    .option("--horizon <days>", "days after the cut-off a churner does not buy in (default: CHURN_HORIZON_DAYS)")
    .option(
      "--train-at <date>",
      "train on the customers as of this day, labelled up to the cut-off (default: the cut-off minus the horizon; " +
        "for a history shorter than two horizons)",
    )
    .option("--png <file>", "where to write the gains chart (default: backtest-gains-<cutoff>.png here)")
    .option("--no-png", "do not write the gains chart")
    .option("--json", "print one JSON object")
    .action(
      async (opts: { cutoff?: string; horizon?: string; trainAt?: string; png?: string | boolean; json?: boolean }) => {
        const horizon = opts.horizon === undefined ? undefined : Number(opts.horizon);
        if (horizon !== undefined && !(Number.isInteger(horizon) && horizon > 0))
          throw new UserError(`--horizon: "${opts.horizon}" is not a whole number of days above 0`);
        const cutoff = opts.cutoff ? parseDate(opts.cutoff, "--cutoff") : undefined;
        const trainAt = opts.trainAt ? parseDate(opts.trainAt, "--train-at") : undefined;
        const ctx = await buildContext();
        try {
          const result = await evaluateBacktest(ctx.db, {
            cutoff,
            horizonDays: horizon ?? ctx.config.analytics.churnHorizonDays,
            ...(trainAt ? { trainAt } : {}),
          });
          if (!result.ok) throw new UserError(`no backtest: ${result.error.message}`);
          const w = result.value;
          let png: string | null = null;
          if (opts.png !== false) {
            png = path.resolve(typeof opts.png === "string" ? opts.png : `backtest-gains-${w.cutoff}.png`);
            await writeFile(png, await renderGainsPng(w));
          }
          if (opts.json) console.log(JSON.stringify({ ...w, png }));
          else printBacktest(w, png);
        } finally {
          await ctx.close();
        }
      },
    );
  evaluate
    .command("cdnow <file>")
    .description(
      "CDNOW_master.txt or CDNOW_sample.txt imported into a throwaway in-memory database as `import orders --format " +
        "cdnow` would, then the product's own features and churn model candidates cross-validated on the customers " +
        "as of --cutoff (label: no purchase in the --horizon days after it), beside recency and BG/NBD",
    )
    .option("--cutoff <date>", "features as of this day (Fader, Hardie & Lee's calibration end + 1)", "1997-10-01")
    .option("--horizon <days>", "days after the cut-off a churner does not buy in (their holdout)", "273")
    .option("--seeds <list>", "comma-separated seeds, one fold split each (the first is reported as AUC)", "1,2,3")
    .option("--json", "print one JSON object")
    .action(async (file: string, opts: { cutoff: string; horizon: string; seeds: string; json?: boolean }) => {
      requireFile(file);
      const horizonDays = Number(opts.horizon);
      if (!(Number.isInteger(horizonDays) && horizonDays > 0))
        throw new UserError(`--horizon: "${opts.horizon}" is not a whole number of days above 0`);
      const seeds = opts.seeds.split(",").map(Number);
      if (!seeds.every(Number.isInteger)) throw new UserError(`--seeds: "${opts.seeds}" is not a list of integers`);
      const cutoff = parseDate(opts.cutoff, "--cutoff");
      const db = await openDatabase({ kind: "pglite", dataDir: null });
      let result: HistoryEvaluation;
      try {
        await applyMigrations(db);
        await importFile(db, { kind: "orders", file, format: "cdnow", timeZone: "UTC", now: new Date() });
        result = await evaluateHistory(db, { cutoff, horizonDays, seeds });
      } catch (error) {
        if (error instanceof RangeError) throw new UserError(error.message);
        throw error;
      } finally {
        await db.close();
      }
      if (opts.json) console.log(JSON.stringify({ file, ...result }));
      else printHistory(file, result);
    });
  evaluate
    .command("labeled <file>")
    .description(
      "Any CSV with a churn label: trains each churn model candidate on the other columns (id-like columns dropped), " +
        "5-fold cross-validated AUC and the chosen model",
    )
    .requiredOption("--id <column>", "customer id column (not used as a feature)")
    .requiredOption("--label <column>", "churn label column (1/0, yes/no, true/false, churned/active...)")
    .option("--json", "print one JSON object")
    .option("--seed <n>", "seed of the fold split", "1")
    .action(async (file: string, opts: { id: string; label: string; json?: boolean; seed: string }) => {
      requireFile(file);
      let result: LabeledEvaluation;
      try {
        result = await evaluateLabeled(file, { id: opts.id, label: opts.label, seed: Number(opts.seed) });
      } catch (error) {
        if (error instanceof RangeError) throw new UserError(error.message);
        throw error;
      }
      if (opts.json) console.log(JSON.stringify(result));
      else printLabeled(file, result);
    });
  registerEvaluateUplift(evaluate);
}

function printUplift(file: string, r: UpliftEvaluation): void {
  const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} points` : "n/a");
  const lines = [
    `uplift evaluation of ${file} (two logistic models, 5-fold cross-fitted)`,
    `rows ${r.rows}: treated ("${r.treatedValue}") ${r.treated}, control ${r.control}`,
    `average effect (treated - control outcome rate) ${pct(r.ate)}, 95% CI [${pct(r.ateCi[0])}, ${pct(r.ateCi[1])}]`,
    `Qini coefficient ${Number.isFinite(r.qini) ? fixed(r.qini) : "n/a"} (0 random ranking, 1 best possible)`,
    `uplift in the top 30% by predicted uplift ${pct(r.upliftAt30)}`,
    `features (${r.features.length}): ${r.features.join(", ")}`,
    ...(r.skipped.length ? [`skipped: ${r.skipped.map((s) => `${s.column} (${s.reason})`).join(", ")}`] : []),
  ];
  console.log(lines.join("\n"));
}

/** Registers `evaluate uplift` under the `evaluate` command. */
export function registerEvaluateUplift(evaluate: Command): void {
  evaluate
    .command("uplift <file>")
    .description(
      "Any randomized experiment CSV (one treatment and one control arm, binary outcome): average effect with " +
        "its 95% CI, and a two-model uplift learner's Qini coefficient and uplift@30% by 5-fold cross-fitting",
    )
    .requiredOption("--treatment <column>", "column holding each row's arm")
    .requiredOption(
      "--control-value <value>",
      "the treatment column's value for control rows (the other value is treated)",
    )
    .requiredOption("--outcome <column>", "binary outcome column (1/0, yes/no, true/false)")
    .option("--id <column>", "row id column (not used as a feature)")
    .option("--ignore <columns>", "comma-separated columns not used as features")
    .option("--json", "print {rows, treated, control, ate, ateCi, qini, upliftAt30} as one JSON object")
    .option("--seed <n>", "seed of the fold split", "1")
    .action(
      async (
        file: string,
        opts: {
          treatment: string;
          controlValue: string;
          outcome: string;
          id?: string;
          ignore?: string;
          json?: boolean;
          seed: string;
        },
      ) => {
        requireFile(file);
        const seed = Number(opts.seed);
        if (!Number.isInteger(seed)) throw new UserError(`--seed must be an integer, got "${opts.seed}"`);
        let result: UpliftEvaluation;
        try {
          result = await evaluateUplift(file, {
            treatment: opts.treatment,
            controlValue: opts.controlValue,
            outcome: opts.outcome,
            ...(opts.id ? { id: opts.id } : {}),
            ignore: opts.ignore ? opts.ignore.split(",") : [],
            seed,
          });
        } catch (error) {
          if (error instanceof UpliftInputError) throw new UserError(error.message);
          throw error;
        }
        const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
        if (opts.json) {
          const { rows, treated, control, ate, ateCi, qini, upliftAt30 } = result;
          console.log(
            JSON.stringify({
              rows,
              treated,
              control,
              ate: finite(ate),
              ateCi: ateCi.map(finite),
              qini: finite(qini),
              upliftAt30: finite(upliftAt30),
            }),
          );
        } else printUplift(file, result);
      },
    );
}
