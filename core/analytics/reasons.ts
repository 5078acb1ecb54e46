// Plain-language reasons for a churn score, built from the model's largest contributions.
// Each reason carries a stable `code` and its numbers; its words come from the locale files
// (`reason-*` keys in bot/telegram/locales/<locale>.ftl) in the reader's language, English by default.
import { loadTranslator, type Translator } from "../messaging/locales";
import type { CustomerFeatures } from "./features";

/** A reason whose summed contribution (log-odds) is below this is never shown. */
export const MIN_REASON_WEIGHT = 0.05;
/** Nor one below this share of the customer's summed positive contributions. */
export const MIN_REASON_SHARE = 0.1;
/** "usually every N days" needs at least this many gaps between purchase days. */
export const MIN_GAPS_FOR_USUAL = 3;

export type ReasonCode =
  | "overdue"
  | "no_purchase_yet"
  | "few_purchases"
  | "spending_down"
  | "small_orders"
  | "detractor"
  | "low_csat"
  | "complaints"
  | "declined_offers"
  | "new_customer"
  | "attribute";

export interface Reason {
  code: ReasonCode;
  text: string;
  /** The summed model contribution (log-odds) behind this reason. */
  weight: number;
  values: Record<string, number | string>;
}

/** One model column and how much it pushed this customer's churn log-odds up (+) or down (-). */
export interface Contribution {
  feature: string;
  contribution: number;
}

const days = (d: number) => Math.max(0, Math.round(d));

/** Which reason a model column speaks to (attribute columns are "attr:<key>[=<level>]"). */
export function reasonCodeFor(feature: string, f: CustomerFeatures): ReasonCode | null {
  return codeFor(feature, f.recencyDays === null);
}

function codeFor(feature: string, noPurchase: boolean): ReasonCode | null {
  if (feature.startsWith("attr:")) return "attribute";
  switch (feature) {
    case "log_recency":
    case "log_overdue":
    case "p_alive":
    case "log_expected_purchases":
    case "log_spend_90":
    case "no_purchase":
      return noPurchase ? "no_purchase_yet" : "overdue";
    case "log_frequency":
    case "log_active_days":
      return "few_purchases";
    case "spend_trend":
      return "spending_down";
    case "log_monetary_mean":
    case "log_monetary_total":
      return "small_orders";
    case "nps_detractor":
    case "nps_promoter":
      return "detractor";
    case "csat_low":
      return "low_csat";
    case "complaints_90":
    case "log_complaints_total":
      return "complaints";
    case "log_offers_received":
    case "log_offers_declined":
      return "declined_offers";
    case "log_tenure":
      return "new_customer";
    default:
      return null;
  }
}

/** The numbers (and attribute words) each reason carries, in the order a stored reason lists them. */
const VALUE_NAMES: Record<ReasonCode, readonly string[]> = {
  overdue: ["daysSince", "usualGapDays"],
  no_purchase_yet: ["tenureDays"],
  few_purchases: ["purchases"],
  spending_down: ["percent", "last90", "previous90"],
  small_orders: ["averageOrder"],
  detractor: ["nps"],
  low_csat: ["csat"],
  complaints: ["last90", "total"],
  declined_offers: ["declined", "received"],
  new_customer: ["tenureDays"],
  attribute: ["attribute", "value"],
};

type Values = (number | string)[];

/**
 * A reason as a score stores it: `[code, weight, ...values]`, values in {@link VALUE_NAMES}
 * order. The English text is not stored: {@link reasonText} words it from the code and values
 * when read, so a million scores are not written with a million sentences.
 */
export type StoredReason = [ReasonCode, number, ...Values];

/** The numbers of one reason, or null when the customer's data does not bear it out. */
function reasonValues(code: ReasonCode, f: CustomerFeatures, feature?: string, attributeValue?: number): Values | null {
  switch (code) {
    case "overdue": {
      if (f.recencyDays === null) return null;
      const since = days(f.recencyDays);
      // A usual rhythm only from at least three gaps between purchase days (x = days - 1).
      if (f.meanGapDays !== null && f.meanGapDays > 0 && f.x >= MIN_GAPS_FOR_USUAL) {
        const usual = Math.max(1, days(f.meanGapDays));
        return since <= usual ? null : [since, usual];
      }
      return since < 30 ? null : [since];
    }
    case "no_purchase_yet":
      return [days(f.tenureDays)];
    case "few_purchases":
      return f.purchaseCount > 2 ? null : [f.purchaseCount];
    case "spending_down": {
      if (f.spendPrev90 <= 0 || f.spendLast90 >= f.spendPrev90) return null;
      return [Math.round((100 * (f.spendPrev90 - f.spendLast90)) / f.spendPrev90), f.spendLast90, f.spendPrev90];
    }
    case "small_orders":
      return f.monetaryMean === null ? null : [Math.round(f.monetaryMean * 100) / 100];
    case "detractor":
      return f.npsLatest === null || f.npsLatest > 6 ? null : [f.npsLatest];
    case "low_csat":
      return f.csatLatest === null || f.csatLatest > 2 ? null : [f.csatLatest];
    case "complaints":
      if (f.complaints90 > 0) return [f.complaints90, f.complaintsTotal];
      return f.complaintsTotal > 0 ? [0, f.complaintsTotal] : null;
    case "declined_offers":
      return f.offersDeclined <= 0 ? null : [f.offersDeclined, f.offersReceived];
    case "new_customer":
      return f.tenureDays > 90 ? null : [days(f.tenureDays)];
    case "attribute": {
      if (!feature) return null;
      const [key, level] = attributeParts(feature);
      if (level !== undefined) return attributeValue === 1 ? [key, level] : null;
      return attributeValue === undefined ? null : [key, attributeValue];
    }
  }
}

let translator: Translator | null = null;
const translate: Translator = (locale, key, vars) => (translator ??= loadTranslator())(locale, key, vars);

/** A reason's sentence from its code and values (as stored), in `locale` (English by default). */
export function reasonText(code: ReasonCode, values: readonly (number | string)[], locale = "en"): string {
  const vars: Record<string, number | string> = {};
  VALUE_NAMES[code].forEach((name, i) => {
    if (values[i] !== undefined) vars[name] = values[i]!;
  });
  switch (code) {
    case "overdue":
      return translate(locale, values.length > 1 ? "reason-overdue-usual" : "reason-overdue", vars);
    case "small_orders":
      return translate(locale, "reason-small-orders", { averageOrder: Number(values[0]).toFixed(2) });
    case "complaints":
      return translate(locale, Number(values[0]) > 0 ? "reason-complaints-recent" : "reason-complaints-total", vars);
    case "attribute":
      return translate(
        locale,
        typeof values[1] === "string" ? "reason-attribute-level" : "reason-attribute-number",
        vars,
      );
    default:
      return translate(locale, `reason-${code.replace(/_/g, "-")}`, vars);
  }
}

/** The full reason (with its text and named values) for a stored one. */
export function expandReason([code, weight, ...values]: StoredReason, locale = "en"): Reason {
  const names = VALUE_NAMES[code];
  const named: Record<string, number | string> = {};
  values.forEach((v, i) => (named[names[i] ?? `v${i}`] = v));
  return { code, text: reasonText(code, values, locale), weight, values: named };
}

const REASON_CODES = new Set<string>(Object.keys(VALUE_NAMES));

/** A reason as read back from a score; `weight` is absent where the row did not store one. */
export interface ReadReason {
  code: string;
  text: string;
  weight?: number;
  values: Record<string, number | string>;
}

/**
 * Reads a score's `reasons` column defensively (the scoring job owns its shape): stored reasons
 * (`[code, weight, ...values]`) get their text worded here; objects with a `text` (rows written
 * before reasons were stored compactly, test fixtures) pass through. Anything else is dropped.
 */
export function readReasons(raw: unknown, locale = "en"): ReadReason[] {
  if (!Array.isArray(raw)) return [];
  const out: ReadReason[] = [];
  for (const r of raw) {
    if (Array.isArray(r)) {
      if (
        REASON_CODES.has(r[0] as string) &&
        typeof r[1] === "number" &&
        r.slice(2).every((v) => typeof v === "number" || typeof v === "string")
      )
        out.push(expandReason(r as StoredReason, locale));
    } else if (r && typeof r === "object" && typeof (r as { text?: unknown }).text === "string") {
      const { code, text, weight, values } = r as { code?: unknown; text: string; weight?: unknown; values?: unknown };
      out.push({
        code: String(code ?? ""),
        text,
        ...(typeof weight === "number" ? { weight } : {}),
        values: values && typeof values === "object" ? (values as Record<string, number | string>) : {},
      });
    }
  }
  return out;
}

/**
 * Up to `max` reasons that raised this customer's churn risk the most. Contributions are summed
 * per reason (recency, overdue ratio and P(alive) all speak to "no purchase for N days"), only
 * positive ones count, and a reason the data does not bear out (a "spending down" weight for a
 * customer whose spend rose) is skipped.
 */
export function topReasons(
  f: CustomerFeatures,
  contributions: readonly Contribution[],
  attributeNames: readonly string[] = [],
  max = 3,
  locale = "en",
): Reason[] {
  return storedTopReasons(f, contributions, attributeNames, max).map((r) => expandReason(r, locale));
}

/** {@link topReasons} as stored reasons (no sentences). */
export function storedTopReasons(
  f: CustomerFeatures,
  contributions: readonly Contribution[],
  attributeNames: readonly string[] = [],
  max = 3,
): StoredReason[] {
  return rankReasons(
    f,
    contributions.map((c) => c.feature),
    contributions.map((c) => c.contribution),
    attributeNames,
    max,
  );
}

// Scratch space for rankReasons, reused across calls (scoring asks once per customer).
let slotWeights = new Float64Array(64);
let slotFeature = new Int32Array(64);
const slotKeys: string[] = [];
const slotCodes: ReasonCode[] = [];

/**
 * {@link topReasons} over parallel arrays (`features[j]` pushed the log-odds by `contributions[j]`),
 * as stored reasons. Scoring calls this for every customer, so it builds no per-column objects
 * and no sentences. `without` leaves one reason out after the floors are set (its weight still
 * counts in the customer's total), so the next reason takes its place: scoring asks for the
 * list without "small orders" for customers whose orders turn out not to be small for their
 * segment.
 */
export function rankReasons(
  f: CustomerFeatures,
  features: readonly string[],
  contributions: ArrayLike<number>,
  attributeNames: readonly string[] = [],
  max = 3,
  without?: ReasonCode,
): StoredReason[] {
  const noPurchase = f.recencyDays === null;
  if (slotWeights.length < features.length) {
    slotWeights = new Float64Array(features.length);
    slotFeature = new Int32Array(features.length);
  }
  const codes = columnCodes(features)[noPurchase ? 1 : 0];
  let slots = 0;
  for (let j = 0; j < features.length; j++) {
    const contribution = contributions[j]!;
    if (!(contribution > 0)) continue;
    const code = codes[j];
    if (!code) continue;
    const feature = features[j]!;
    const key = code === "attribute" ? feature : code;
    let at = 0;
    while (at < slots && slotKeys[at] !== key) at++;
    if (at < slots) slotWeights[at]! += contribution;
    else {
      slotKeys[slots] = key;
      slotCodes[slots] = code;
      slotFeature[slots] = j;
      slotWeights[slots] = contribution;
      slots++;
    }
  }
  // Only reasons that carry real weight: at least MIN_REASON_WEIGHT and MIN_REASON_SHARE of the
  // customer's summed positive contributions (a weak one is never shown, not even alone).
  let total = 0;
  for (let k = 0; k < slots; k++) total += slotWeights[k]!;
  const floor = Math.max(MIN_REASON_WEIGHT, MIN_REASON_SHARE * total);
  for (let k = 0; k < slots; k++) if (slotWeights[k]! < floor || slotCodes[k] === without) slotWeights[k] = 0;
  const reasons: StoredReason[] = [];
  // The largest remaining weight each time: a few picks among a dozen slots needs no sort.
  while (reasons.length < max) {
    let best = -1;
    for (let k = 0; k < slots; k++)
      if (slotWeights[k]! > 0 && (best < 0 || slotWeights[k]! > slotWeights[best]!)) best = k;
    if (best < 0) break;
    const weight = slotWeights[best]!;
    slotWeights[best] = 0;
    const feature = features[slotFeature[best]!]!;
    const code = slotCodes[best]!;
    const attrIndex = code === "attribute" ? attributeNames.indexOf(feature) : -1;
    const values = reasonValues(code, f, feature, attrIndex >= 0 ? f.attributes[attrIndex] : undefined);
    if (values) reasons.push([code, Math.round(weight * 1000) / 1000, ...values]);
  }
  return reasons;
}

const partsCache = new Map<string, readonly [string, string | undefined]>();
/** "attr:<key>[=<level>]" -> [key, level]; cached, as every scored customer asks again. */
function attributeParts(feature: string): readonly [string, string | undefined] {
  let parts = partsCache.get(feature);
  if (!parts) {
    const [key, level] = feature.slice("attr:".length).split(/=(.*)/s);
    parts = [key!, level];
    partsCache.set(feature, parts);
  }
  return parts;
}

const codesByColumns = new WeakMap<readonly string[], readonly [(ReasonCode | null)[], (ReasonCode | null)[]]>();
/** Each column's reason, for customers with purchases and without; worked out once per list. */
function columnCodes(features: readonly string[]): readonly [(ReasonCode | null)[], (ReasonCode | null)[]] {
  let codes = codesByColumns.get(features);
  if (!codes || codes[0].length !== features.length) {
    codes = [features.map((f) => codeFor(f, false)), features.map((f) => codeFor(f, true))];
    codesByColumns.set(features, codes);
  }
  return codes;
}

/**
 * Contributions for the no-model fallback (before any model is trained): the BG/NBD death
 * probability stands in for recency, plus fixed weights for complaints, detractors and falling spend.
 */
export function heuristicContributions(f: CustomerFeatures, pAlive: number): Contribution[] {
  return [
    { feature: "p_alive", contribution: 1 - pAlive },
    { feature: "complaints_90", contribution: 0.3 * Math.min(f.complaints90, 3) },
    { feature: "nps_detractor", contribution: f.npsLatest !== null && f.npsLatest <= 6 ? 0.3 : 0 },
    { feature: "csat_low", contribution: f.csatLatest !== null && f.csatLatest <= 2 ? 0.2 : 0 },
    { feature: "spend_trend", contribution: f.spendTrend !== null && f.spendTrend < 0 ? -0.3 * f.spendTrend : 0 },
    { feature: "log_frequency", contribution: f.purchaseCount <= 1 ? 0.1 : 0 },
  ];
}
