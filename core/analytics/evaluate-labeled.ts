// Evaluation on any customer table with a known churn label: column types are inferred, the
// supervised model is trained on every other column, and scored by 5-fold cross-validation.
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { crossValidateLogistic } from "./models/cross-validate";

export interface LabeledEvaluation {
  rows: number;
  positives: number;
  /** The label value counted as positive (churned). */
  positiveLabel: string;
  /** Out-of-sample AUC: mean of the folds' AUCs. */
  auc: number;
  /** AUC of all out-of-fold predictions pooled into one ranking. */
  aucPooled: number;
  aucFolds: number[];
  trainingMs: number;
  /** Model inputs after encoding (one-hot levels, missing indicators, log transforms). */
  features: string[];
  /** Columns left out, with why. */
  skipped: { column: string; reason: string }[];
}

export interface LabeledOptions {
  id: string;
  label: string;
  folds?: number;
  seed?: number;
}

const BLANK = /^(|na|n\/a|nan|null|none|-)$/i;
const TRUE_WORDS = /^(1|yes|y|true|t)$/i;
const FALSE_WORDS = /^(0|no|n|false|f)$/i;
const POSITIVE_LABEL = /^(1|yes|y|true|t|churn|churned|left|lost|cancel+ed|exited|inactive|attrited|attrition)$/i;
const MAX_LEVELS = 30;

/** An encoder turns one raw column into one or more numeric model inputs. */
interface ColumnEncoder {
  names: string[];
  encode(value: string): number[];
}

function isBlank(v: string | undefined): boolean {
  return v === undefined || BLANK.test(v.trim());
}

function toNumber(v: string): number {
  return Number(v.trim());
}

/** Chooses the encoding of one column from its values, or says why it is left out. */
export function inferEncoder(column: string, values: readonly string[]): ColumnEncoder | { skip: string } {
  const present = values.filter((v) => !isBlank(v));
  if (present.length === 0) return { skip: "empty" };
  const anyBlank = present.length < values.length;
  const missingName = `${column}_missing`;
  if (present.every((v) => Number.isFinite(toNumber(v)))) {
    const numbers = present.map(toNumber).sort((a, b) => a - b);
    const median = numbers[Math.floor(numbers.length / 2)]!;
    if (numbers[0] === numbers[numbers.length - 1] && !anyBlank) return { skip: "constant" };
    // Long right tails (amounts, counts) are compressed with log1p.
    const mean = numbers.reduce((s, v) => s + v, 0) / numbers.length;
    const sd = Math.sqrt(numbers.reduce((s, v) => s + (v - mean) ** 2, 0) / numbers.length);
    const skew = sd > 0 ? numbers.reduce((s, v) => s + ((v - mean) / sd) ** 3, 0) / numbers.length : 0;
    const useLog = numbers[0]! >= 0 && skew > 2;
    const name = useLog ? `log1p(${column})` : column;
    return {
      names: anyBlank ? [name, missingName] : [name],
      encode: (v) => {
        const blank = isBlank(v);
        const n = blank ? median : toNumber(v);
        const x = useLog ? Math.log1p(Math.max(n, 0)) : n;
        return anyBlank ? [x, blank ? 1 : 0] : [x];
      },
    };
  }
  if (present.every((v) => TRUE_WORDS.test(v.trim()) || FALSE_WORDS.test(v.trim()))) {
    return {
      names: anyBlank ? [column, missingName] : [column],
      encode: (v) => {
        const blank = isBlank(v);
        const x = !blank && TRUE_WORDS.test(v.trim()) ? 1 : 0;
        return anyBlank ? [x, blank ? 1 : 0] : [x];
      },
    };
  }
  // Categorical: one column per frequent level; rare levels share "other"; the most common level
  // is the reference (no column), so the indicators are not collinear.
  const counts = new Map<string, number>();
  for (const v of values) {
    const key = isBlank(v) ? "(blank)" : v.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const minCount = Math.max(5, Math.ceil(values.length * 0.005));
  const frequent = [...counts.entries()].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1]);
  const kept = frequent.slice(0, MAX_LEVELS).map(([level]) => level);
  const rareRows = values.length - frequent.slice(0, MAX_LEVELS).reduce((s, [, n]) => s + n, 0);
  if (kept.length <= 1 && rareRows < minCount) return { skip: "one level" };
  if (rareRows > values.length / 2) return { skip: "mostly unique values (an identifier or free text)" };
  const levels = kept.slice(1);
  const hasOther = rareRows >= minCount;
  const names = [...levels.map((l) => `${column}=${l}`), ...(hasOther ? [`${column}=(other)`] : [])];
  return {
    names,
    encode: (v) => {
      const key = isBlank(v) ? "(blank)" : v.trim();
      const out = levels.map((l) => (l === key ? 1 : 0));
      if (hasOther) out.push(kept.includes(key) ? 0 : 1);
      return out;
    },
  };
}

/** Which of two label values is the positive (churned) one: the one named so, else the minority. */
export function positiveLabelOf(counts: ReadonlyMap<string, number>): string {
  const [[a, na], [b, nb]] = [...counts.entries()] as [[string, number], [string, number]];
  const aNamed = POSITIVE_LABEL.test(a);
  const bNamed = POSITIVE_LABEL.test(b);
  if (aNamed !== bNamed) return aNamed ? a : b;
  if (na !== nb) return na < nb ? a : b;
  return a < b ? b : a;
}

/**
 * Reads `csvFile` (header row; streamed with csv-parse), encodes every column but `id` and
 * `label`, and evaluates the logistic churn model by k-fold cross-validation. Rows with a blank
 * label are left out. Throws when a named column is missing or the label has not exactly two values.
 */
export async function evaluateLabeled(csvFile: string, options: LabeledOptions): Promise<LabeledEvaluation> {
  const parser = createReadStream(csvFile).pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: true }));
  let header: string[] | undefined;
  const columns: string[][] = [];
  for await (const record of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = record.map((h) => h.trim());
      for (const name of [options.id, options.label]) {
        if (!header.includes(name))
          throw new RangeError(`${csvFile}: no column "${name}" (columns: ${header.join(", ")})`);
      }
      header.forEach(() => columns.push([]));
      continue;
    }
    header.forEach((_, j) => columns[j]!.push(record[j] ?? ""));
  }
  if (!header) throw new RangeError(`${csvFile}: empty file`);
  const labelColumn = columns[header.indexOf(options.label)]!;
  const keep = labelColumn.map((v, i) => (isBlank(v) ? -1 : i)).filter((i) => i >= 0);
  const labelCounts = new Map<string, number>();
  for (const i of keep) labelCounts.set(labelColumn[i]!.trim(), (labelCounts.get(labelColumn[i]!.trim()) ?? 0) + 1);
  if (labelCounts.size !== 2)
    throw new RangeError(`${csvFile}: label "${options.label}" has ${labelCounts.size} distinct values, expected 2`);
  const positiveLabel = positiveLabelOf(labelCounts);
  const labels: number[] = keep.map((i) => (labelColumn[i]!.trim() === positiveLabel ? 1 : 0));

  const encoders: ColumnEncoder[] = [];
  const encodedColumns: number[] = [];
  const skipped: { column: string; reason: string }[] = [];
  header.forEach((column, j) => {
    if (column === options.id || column === options.label) return;
    const values = keep.map((i) => columns[j]![i]!);
    const encoder = inferEncoder(column, values);
    if ("skip" in encoder) skipped.push({ column, reason: encoder.skip });
    else {
      encoders.push(encoder);
      encodedColumns.push(j);
    }
  });
  const features = encoders.flatMap((e) => e.names);
  if (features.length === 0) throw new RangeError(`${csvFile}: no usable columns besides id and label`);
  const X = keep.map((i) => encoders.flatMap((e, k) => e.encode(columns[encodedColumns[k]!]![i]!)));

  const k = options.folds ?? 5;
  const cv = crossValidateLogistic({
    labels,
    features,
    folds: k,
    seed: options.seed ?? 1,
    rowsFor: () => (i) => X[i]!,
  });
  return {
    rows: X.length,
    positives: labels.reduce((s, v) => s + v, 0),
    positiveLabel,
    auc: cv.auc,
    aucPooled: cv.aucPooled,
    aucFolds: cv.aucFolds,
    trainingMs: cv.trainingMs,
    features,
    skipped,
  };
}
