// Evaluation of an uplift model on any randomized experiment table (CSV with a header): a
// two-model learner (T-learner: one logistic model on the treated rows, one on the control rows;
// the predicted uplift is their difference) scored by k-fold cross-fitting. Column encodings are
// inferred on the training folds only, so nothing about a held-out row leaks into its prediction.
// The metrics are computed on the pooled out-of-fold predictions.
import { twoProportionLift } from "../campaigns/stats";
import { inferEncoder, readTable as readCsvTable, type CsvTable } from "./evaluate-labeled";
import { kFoldIndices } from "./models/evaluation";
import { predictLogistic, trainLogistic } from "./models/logistic";
import { qiniAucScore, upliftAtK } from "./uplift-metrics";

export interface UpliftOptions {
  /** Column holding the arm of each row. */
  treatment: string;
  /** The treatment column's value for control rows; the one other value marks treated rows. */
  controlValue: string;
  /** Binary outcome column (1/0, yes/no, true/false). */
  outcome: string;
  /** Row identifier, not used as a feature. */
  id?: string;
  /** Further columns not used as features. */
  ignore?: readonly string[];
  folds?: number;
  seed?: number;
}

export interface UpliftEvaluation {
  rows: number;
  treated: number;
  control: number;
  /** The treatment column's value for treated rows. */
  treatedValue: string;
  /** Treated minus control outcome rate. */
  ate: number;
  /** 95% Wald interval of `ate`. */
  ateCi: [number, number];
  /** Qini coefficient of the pooled out-of-fold uplift predictions (scikit-uplift's `qini_auc_score`). */
  qini: number;
  /** Treated minus control outcome rate in the top 30% by predicted uplift. */
  upliftAt30: number;
  /** Model inputs after encoding, as inferred on the last fold's training rows. */
  features: string[];
  skipped: { column: string; reason: string }[];
  /** Each row's out-of-fold predicted uplift, in file order. */
  predictedUplift: number[];
}

/** Bad input, with the file line that shows it; the caller reports the message and exits with 2. */
export class UpliftInputError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "UpliftInputError";
  }
}

const TRUE_WORDS = /^(1|1\.0|yes|y|true|t)$/i;
const FALSE_WORDS = /^(0|0\.0|no|n|false|f)$/i;

function readTable(csvFile: string, required: readonly string[]): Promise<CsvTable> {
  return readCsvTable(csvFile, required, (message) => new UpliftInputError(message));
}

/** Reads the arm of each row: 1 treated, 0 control. Exactly one value besides the control value is allowed. */
function readTreatment(
  csvFile: string,
  table: CsvTable,
  options: UpliftOptions,
): { arm: number[]; treatedValue: string } {
  const cells = table.columns[table.header.indexOf(options.treatment)]!;
  const control = options.controlValue.trim();
  if (!cells.some((raw) => raw.trim() === control)) {
    const seen = [...new Set(cells.map((raw) => raw.trim()))].slice(0, 5).map((v) => `"${v}"`);
    throw new UpliftInputError(
      `${csvFile}: treatment "${options.treatment}" never has the control value "${control}" ` +
        `(values: ${seen.join(", ")}); check --control-value`,
    );
  }
  let treatedValue: string | undefined;
  const arm = cells.map((raw, i) => {
    const v = raw.trim();
    if (v === control) return 0;
    const where = `${csvFile} line ${table.lines[i]}`;
    if (v === "")
      throw new UpliftInputError(`${where}: treatment "${options.treatment}" is blank; every row needs its arm`);
    if (treatedValue === undefined) treatedValue = v;
    else if (v !== treatedValue)
      throw new UpliftInputError(
        `${where}: treatment "${options.treatment}" is "${v}", a third value besides the control value ` +
          `"${control}" and the treated value "${treatedValue}"; keep one treatment arm per file (filter the others out)`,
      );
    return 1;
  });
  if (treatedValue === undefined)
    throw new UpliftInputError(
      `${csvFile}: treatment "${options.treatment}" has only the control value "${control}"; no treated rows`,
    );
  return { arm, treatedValue };
}

function readOutcome(csvFile: string, table: CsvTable, options: UpliftOptions): number[] {
  const cells = table.columns[table.header.indexOf(options.outcome)]!;
  return cells.map((raw, i) => {
    const v = raw.trim();
    if (TRUE_WORDS.test(v)) return 1;
    if (FALSE_WORDS.test(v)) return 0;
    throw new UpliftInputError(
      `${csvFile} line ${table.lines[i]}: outcome "${options.outcome}" is "${raw}", expected a binary value ` +
        `(1/0, yes/no or true/false); recode the column or leave the row out`,
    );
  });
}

/** P(outcome | x) on one arm's training rows; a constant rate when that arm's outcome never varies. */
function fitArm(X: number[][], y: number[]): (rows: number[][]) => number[] {
  const positives = y.reduce((s, v) => s + v, 0);
  if (y.length === 0) throw new UpliftInputError("a training fold has no rows of one arm; the arm is too small");
  if (positives === 0 || positives === y.length || X[0]!.length === 0) {
    const rate = positives / y.length;
    return (rows) => rows.map(() => rate);
  }
  const model = trainLogistic(X, y);
  return (rows) => predictLogistic(model, rows);
}

/**
 * Reads `csvFile` and cross-fits a T-learner uplift model over every column but the treatment,
 * outcome, id and ignored ones. Throws `UpliftInputError` on a missing column, a treatment column
 * with a value that is neither the control value nor the one treated value, or a non-binary outcome.
 */
export async function evaluateUplift(csvFile: string, options: UpliftOptions): Promise<UpliftEvaluation> {
  const ignore = (options.ignore ?? []).map((c) => c.trim()).filter((c) => c !== "");
  const required = [options.treatment, options.outcome, ...(options.id ? [options.id] : []), ...ignore];
  const table = await readTable(csvFile, required);
  const n = table.lines.length;
  const k = options.folds ?? 5;
  if (n < k * 4)
    throw new UpliftInputError(`${csvFile}: ${n} data rows; need at least ${k * 4} for ${k}-fold cross-fitting`);
  const { arm, treatedValue } = readTreatment(csvFile, table, options);
  const outcome = readOutcome(csvFile, table, options);

  const excluded = new Set(required);
  const featureColumns = table.header.map((_, j) => j).filter((j) => !excluded.has(table.header[j]!));
  if (featureColumns.length === 0)
    throw new UpliftInputError(
      `${csvFile}: no columns left to learn from besides treatment, outcome, id and ignored ones`,
    );

  // Folds stratified by arm and outcome, so each fold holds every arm-outcome cell in proportion.
  const folds = kFoldIndices(
    n,
    k,
    options.seed ?? 1,
    arm.map((t, i) => 2 * t + outcome[i]!),
  );
  const predictedUplift = new Array<number>(n).fill(0);
  let features: string[] = [];
  let skipped: { column: string; reason: string }[] = [];
  for (let fold = 0; fold < k; fold++) {
    const train: number[] = [];
    const test: number[] = [];
    folds.forEach((f, i) => (f === fold ? test : train).push(i));
    const encoders: { column: number; encode: (v: string) => number[]; names: string[] }[] = [];
    skipped = [];
    for (const j of featureColumns) {
      const encoder = inferEncoder(
        table.header[j]!,
        train.map((i) => table.columns[j]![i]!),
      );
      if ("skip" in encoder) skipped.push({ column: table.header[j]!, reason: encoder.skip });
      else encoders.push({ column: j, encode: (v) => encoder.encode(v), names: encoder.names });
    }
    features = encoders.flatMap((e) => e.names);
    const row = (i: number): number[] => encoders.flatMap((e) => e.encode(table.columns[e.column]![i]!));
    const treatedRows = train.filter((i) => arm[i] === 1);
    const controlRows = train.filter((i) => arm[i] === 0);
    const treatedModel = fitArm(
      treatedRows.map(row),
      treatedRows.map((i) => outcome[i]!),
    );
    const controlModel = fitArm(
      controlRows.map(row),
      controlRows.map((i) => outcome[i]!),
    );
    const testRows = test.map(row);
    const pT = treatedModel(testRows);
    const pC = controlModel(testRows);
    test.forEach((i, t) => (predictedUplift[i] = pT[t]! - pC[t]!));
  }

  let treated = 0;
  let treatedResponses = 0;
  let controlResponses = 0;
  arm.forEach((t, i) => {
    treated += t;
    if (t === 1) treatedResponses += outcome[i]!;
    else controlResponses += outcome[i]!;
  });
  const control = n - treated;
  const lift = twoProportionLift(treatedResponses, treated, controlResponses, control);
  return {
    rows: n,
    treated,
    control,
    treatedValue,
    ate: lift.estimate,
    ateCi: [lift.low, lift.high],
    qini: qiniAucScore(outcome, predictedUplift, arm),
    upliftAt30: upliftAtK(outcome, predictedUplift, arm, 0.3),
    features,
    skipped,
    predictedUplift,
  };
}
