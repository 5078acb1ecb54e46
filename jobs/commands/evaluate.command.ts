// `retention evaluate ...`: the models measured on files, without a database.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { evaluateCdnow, type CdnowEvaluation } from "../../core/analytics/evaluate-cdnow";
import { evaluateLabeled, type LabeledEvaluation } from "../../core/analytics/evaluate-labeled";
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

function requireFile(file: string): void {
  if (!existsSync(file)) throw new UserError(`no such file: ${file}`);
}

/** Registers `evaluate cdnow` and `evaluate labeled`; neither opens a database. */
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
}
