// `retention evaluate ...`: the models measured on files, without a database.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { evaluateCdnow, type CdnowEvaluation } from "../../core/analytics/evaluate-cdnow";
import { evaluateLabeled, type LabeledEvaluation } from "../../core/analytics/evaluate-labeled";
import { evaluateUplift, UpliftInputError, type UpliftEvaluation } from "../../core/analytics/uplift-evaluate";
import { UserError } from "../context";

const fixed = (v: number, digits = 4): string => v.toFixed(digits);

function printCdnow(r: CdnowEvaluation): void {
  const lines = [
    `CDNOW evaluation of ${r.file}`,
    `customers ${r.customers}, churned (no purchase 1997-10-01..1998-06-30) ${(100 * r.churnRate).toFixed(1)}%`,
    `supervised churn model: out-of-sample AUC ${fixed(r.auc)} (mean of folds ${r.aucFolds.map((a) => fixed(a, 3)).join(", ")}; pooled ${fixed(r.aucPooled)}), trained in ${r.trainingMs} ms`,
    `BG/NBD (weeks): r ${fixed(r.bgnbd.r)}  alpha ${fixed(r.bgnbd.alpha)}  a ${fixed(r.bgnbd.a)}  b ${fixed(r.bgnbd.b)}`,
    `Gamma-Gamma: p ${fixed(r.gammaGamma.p)}  q ${fixed(r.gammaGamma.q)}  gamma ${fixed(r.gammaGamma.gamma)}`,
    `BG/NBD expected holdout purchases as a churn score: AUC ${fixed(r.bgnbdAuc)}`,
    `holdout purchases: predicted ${r.holdoutPurchases.predicted.toFixed(0)}, actual ${r.holdoutPurchases.actual}`,
    "calibration (deciles of predicted churn probability):",
    "  bin  predicted  observed  customers",
    ...r.calibration.map(
      (b) =>
        `  ${String(b.bin).padStart(3)}  ${fixed(b.meanPredicted, 3).padStart(9)}  ${fixed(b.observedRate, 3).padStart(8)}  ${String(b.count).padStart(9)}`,
    ),
    `features: ${r.features.join(", ")}`,
  ];
  console.log(lines.join("\n"));
}

function printLabeled(file: string, r: LabeledEvaluation): void {
  const lines = [
    `labeled evaluation of ${file}`,
    `rows ${r.rows}, positives ("${r.positiveLabel}") ${r.positives} (${((100 * r.positives) / r.rows).toFixed(1)}%)`,
    `out-of-sample AUC ${fixed(r.auc)} (mean of folds ${r.aucFolds.map((a) => fixed(a, 3)).join(", ")}; pooled ${fixed(r.aucPooled)}), trained in ${r.trainingMs} ms`,
    `features (${r.features.length}): ${r.features.join(", ")}`,
    ...(r.skipped.length ? [`skipped: ${r.skipped.map((s) => `${s.column} (${s.reason})`).join(", ")}`] : []),
  ];
  console.log(lines.join("\n"));
}

function requireFile(file: string): void {
  if (!existsSync(file)) throw new UserError(`no such file: ${file}`);
}

/** Registers `evaluate cdnow`, `evaluate labeled` and `evaluate uplift`; none opens a database. */
export function registerEvaluateCommands(program: Command): void {
  const evaluate = program
    .command("evaluate")
    .description("Measure the churn and value models on a file (no database needed)");
  evaluate
    .command("cdnow <file>")
    .description(
      "CDNOW_master.txt or CDNOW_sample.txt: BG/NBD and Gamma-Gamma on 1997-01-01..1997-09-30, churn model AUC " +
        "(label: no purchase 1997-10-01..1998-06-30) by 5-fold cross-validation",
    )
    .option("--json", "print one JSON object")
    .option("--seed <n>", "seed of the fold split", "1")
    .action(async (file: string, opts: { json?: boolean; seed: string }) => {
      requireFile(file);
      const result = await evaluateCdnow(file, { seed: Number(opts.seed) });
      if (opts.json) console.log(JSON.stringify(result));
      else printCdnow(result);
    });
  evaluate
    .command("labeled <file>")
    .description("Any CSV with a churn label: trains the churn model on the other columns, 5-fold cross-validated AUC")
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
