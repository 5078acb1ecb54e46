// Evaluation on any customer table with a known churn label: column types are inferred, every
// candidate churn model is trained on the other columns and scored by 5-fold cross-validation;
// the product's choice among them is reported. Encoders (imputation, log decisions, level
// selection) are fitted inside each training fold, so the held-out fold never shapes them.
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { chooseModel, MODEL_KINDS, type ModelKind } from "./models/candidates";
import { crossValidate, type CrossValidation } from "./models/cross-validate";

export interface LabeledEvaluation {
  rows: number;
  /** The candidate the product would use here (best AUC; ties to the simpler model). */
  chosen: ModelKind;
  positives: number;
  /** The label value counted as positive (churned). */
  positiveLabel: string;
  /** Out-of-sample AUC of the chosen model: mean of the folds' AUCs. */
  auc: number;
  /** AUC of all out-of-fold predictions pooled into one ranking. */
  aucPooled: number;
  aucFolds: number[];
  trainingMs: number;
  /** Every candidate's cross-validated figures, on the same folds. */
  models: Record<ModelKind, { auc: number; aucPooled: number; aucFolds: number[]; trainingMs: number }>;
  /** Model inputs after encoding on all rows (each fold fits its own encoders the same way). */
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
 * Why a column identifies rows rather than describing them, or null: whole numbers (or text)
 * that are different on every row, such as a customer number or a row counter (RowNumber).
 */
export function idLikeReason(values: readonly string[]): string | null {
  if (values.length < 10) return null;
  const seen = new Set<string>();
  let wholeNumbers = true;
  let counter = true;
  let previous = NaN;
  for (const raw of values) {
    const v = raw.trim();
    if (isBlank(v) || seen.has(v)) return null;
    seen.add(v);
    const n = Number(v);
    if (!Number.isInteger(n)) wholeNumbers = false;
    if (!(n === previous + 1) && !Number.isNaN(previous)) counter = false;
    previous = n;
  }
  if (counter && wholeNumbers) return "a row counter";
  if (wholeNumbers) return "whole numbers unique per row (an identifier)";
  if (values.every((v) => !Number.isFinite(Number(v.trim())))) return "text unique per row (an identifier)";
  return null;
}

export interface CsvTable {
  header: string[];
  /** columns[j][i]: the cell of column j in data row i. */
  columns: string[][];
  /** The file line each record starts on. */
  lines: number[];
}

/**
 * Reads a CSV with a header into columns, keeping each record's file line.
 * @throws what `fail` makes of the message (RangeError by default) when a required column is
 * missing or the file is empty.
 */
export async function readTable(
  csvFile: string,
  required: readonly string[],
  fail: (message: string) => Error = (message) => new RangeError(message),
): Promise<CsvTable> {
  const parser = createReadStream(csvFile).pipe(
    parse({ bom: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  let header: string[] | undefined;
  const columns: string[][] = [];
  const lines: number[] = [];
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    if (!header) {
      header = record.map((h) => h.trim());
      for (const name of required) {
        if (!header.includes(name)) throw fail(`${csvFile}: no column "${name}" (columns: ${header.join(", ")})`);
      }
      header.forEach(() => columns.push([]));
      continue;
    }
    header.forEach((_, j) => columns[j]!.push(record[j] ?? ""));
    lines.push(info.lines);
  }
  if (!header) throw fail(`${csvFile}: empty file`);
  return { header, columns, lines };
}

/** Encoders fitted on `rows` for the given columns; columns they would leave out are skipped. */
function fitEncoders(
  columns: readonly (readonly string[])[],
  candidates: readonly { column: string; j: number }[],
  rows: readonly number[],
): { encoders: { j: number; encoder: ColumnEncoder }[]; skipped: { column: string; reason: string }[] } {
  const encoders: { j: number; encoder: ColumnEncoder }[] = [];
  const skipped: { column: string; reason: string }[] = [];
  for (const { column, j } of candidates) {
    const encoder = inferEncoder(
      column,
      rows.map((i) => columns[j]![i]!),
    );
    if ("skip" in encoder) skipped.push({ column, reason: encoder.skip });
    else encoders.push({ j, encoder });
  }
  return { encoders, skipped };
}

/**
 * Reads `csvFile` (header row; streamed with csv-parse), drops the id, the label and id-like
 * columns, and evaluates every churn model candidate by k-fold cross-validation with encoders
 * fitted inside each training fold. Rows with a blank label are left out. Throws a RangeError
 * naming the problem when a named column is missing, or when the label has not exactly two
 * values (naming the first line holding a third value).
 */
export async function evaluateLabeled(csvFile: string, options: LabeledOptions): Promise<LabeledEvaluation> {
  const { header, columns, lines } = await readTable(csvFile, [options.id, options.label]);
  const labelColumn = columns[header.indexOf(options.label)]!;
  const keep: number[] = [];
  const labelCounts = new Map<string, number>();
  for (let i = 0; i < labelColumn.length; i++) {
    const v = labelColumn[i]!;
    if (isBlank(v)) continue;
    const value = v.trim();
    if (!labelCounts.has(value) && labelCounts.size === 2) {
      const known = [...labelCounts.keys()].map((k) => `"${k}"`).join(" and ");
      throw new RangeError(
        `${csvFile}: line ${lines[i]}: label "${options.label}" has a third value "${value}" after ${known}; ` +
          "a churn label takes exactly two values: fix or blank that cell (rows with a blank label are left out)",
      );
    }
    labelCounts.set(value, (labelCounts.get(value) ?? 0) + 1);
    keep.push(i);
  }
  if (labelCounts.size !== 2)
    throw new RangeError(
      `${csvFile}: label "${options.label}" has ${labelCounts.size} distinct value(s), expected 2 (churned and stayed)`,
    );
  const positiveLabel = positiveLabelOf(labelCounts);
  const labels: number[] = keep.map((i) => (labelColumn[i]!.trim() === positiveLabel ? 1 : 0));

  const skipped: { column: string; reason: string }[] = [];
  const usable: { column: string; j: number }[] = [];
  header.forEach((column, j) => {
    if (column === options.id || column === options.label) return;
    const reason = idLikeReason(keep.map((i) => columns[j]![i]!));
    if (reason) skipped.push({ column, reason });
    else usable.push({ column, j });
  });
  const all = fitEncoders(columns, usable, keep);
  skipped.push(...all.skipped);
  const features = all.encoders.flatMap((e) => e.encoder.names);
  if (features.length === 0) throw new RangeError(`${csvFile}: no usable columns besides id and label`);

  // Fold-local encoders: positions are indices into `keep`.
  const rowsFor = (train: readonly number[]) => {
    const fitted = fitEncoders(
      columns,
      usable,
      train.map((t) => keep[t]!),
    );
    return {
      features: fitted.encoders.flatMap((e) => e.encoder.names),
      row: (t: number) => fitted.encoders.flatMap(({ j, encoder }) => encoder.encode(columns[j]![keep[t]!]!)),
    };
  };
  const k = options.folds ?? 5;
  const seed = options.seed ?? 1;
  const results = {} as Record<ModelKind, CrossValidation>;
  for (const kind of MODEL_KINDS) results[kind] = crossValidate({ kind, labels, folds: k, seed, rowsFor });
  const chosen = chooseModel(Object.fromEntries(MODEL_KINDS.map((kind) => [kind, results[kind].auc])));
  const cv = results[chosen];
  const models = Object.fromEntries(
    MODEL_KINDS.map((kind) => {
      const r = results[kind];
      return [kind, { auc: r.auc, aucPooled: r.aucPooled, aucFolds: r.aucFolds, trainingMs: r.trainingMs }];
    }),
  ) as LabeledEvaluation["models"];
  return {
    rows: keep.length,
    chosen,
    positives: labels.reduce((s, v) => s + v, 0),
    positiveLabel,
    auc: cv.auc,
    aucPooled: cv.aucPooled,
    aucFolds: cv.aucFolds,
    trainingMs: MODEL_KINDS.reduce((s, kind) => s + results[kind].trainingMs, 0),
    models,
    features,
    skipped,
  };
}
