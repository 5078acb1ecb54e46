// Plain-language reasons for a churn score, built from the model's largest contributions.
// Each reason carries a stable `code` and its numbers, so other channels (Telegram in Russian,
// Slack) can word it themselves; `text` is the English default.
import type { CustomerFeatures } from "./features";

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

const WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
const count = (n: number) => (n >= 0 && n < WORDS.length && Number.isInteger(n) ? WORDS[n]! : String(n));
const plural = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`;
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
      return "few_purchases";
    case "spend_trend":
      return "spending_down";
    case "log_monetary_mean":
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

/** The wording and numbers of one reason, or null when the customer's data does not bear it out. */
export function describeReason(code: ReasonCode, f: CustomerFeatures, feature?: string, attributeValue?: number): Omit<Reason, "weight"> | null {
  switch (code) {
    case "overdue": {
      if (f.recencyDays === null) return null;
      const since = days(f.recencyDays);
      if (f.meanGapDays !== null && f.meanGapDays > 0) {
        const usual = Math.max(1, days(f.meanGapDays));
        if (since <= usual) return null;
        return { code, text: `no purchase for ${since} days; usually every ${usual}`, values: { daysSince: since, usualGapDays: usual } };
      }
      if (since < 30) return null;
      return { code, text: `no purchase for ${since} days`, values: { daysSince: since } };
    }
    case "no_purchase_yet":
      return { code, text: `no purchase since joining ${days(f.tenureDays)} days ago`, values: { tenureDays: days(f.tenureDays) } };
    case "few_purchases":
      if (f.purchaseCount > 2) return null;
      return { code, text: f.purchaseCount === 1 ? "only one purchase so far" : `only ${count(f.purchaseCount)} purchases so far`, values: { purchases: f.purchaseCount } };
    case "spending_down": {
      if (f.spendPrev90 <= 0 || f.spendLast90 >= f.spendPrev90) return null;
      const pct = Math.round((100 * (f.spendPrev90 - f.spendLast90)) / f.spendPrev90);
      return { code, text: `spending down ${pct}% on the previous quarter`, values: { percent: pct, last90: f.spendLast90, previous90: f.spendPrev90 } };
    }
    case "small_orders":
      if (f.monetaryMean === null) return null;
      return { code, text: `small orders (average ${f.monetaryMean.toFixed(2)})`, values: { averageOrder: Math.round(f.monetaryMean * 100) / 100 } };
    case "detractor":
      if (f.npsLatest === null || f.npsLatest > 6) return null;
      return { code, text: `detractor (NPS ${f.npsLatest})`, values: { nps: f.npsLatest } };
    case "low_csat":
      if (f.csatLatest === null || f.csatLatest > 2) return null;
      return { code, text: `low satisfaction rating (CSAT ${f.csatLatest} of 5)`, values: { csat: f.csatLatest } };
    case "complaints":
      if (f.complaints90 > 0) return { code, text: `${plural(f.complaints90, "complaint", "complaints")} in the last 90 days`, values: { last90: f.complaints90, total: f.complaintsTotal } };
      if (f.complaintsTotal > 0) return { code, text: `${plural(f.complaintsTotal, "complaint", "complaints")} on record`, values: { last90: 0, total: f.complaintsTotal } };
      return null;
    case "declined_offers":
      if (f.offersDeclined <= 0) return null;
      return { code, text: `declined ${plural(f.offersDeclined, "offer", "offers")}`, values: { declined: f.offersDeclined, received: f.offersReceived } };
    case "new_customer":
      if (f.tenureDays > 90) return null;
      return { code, text: `customer for only ${days(f.tenureDays)} days`, values: { tenureDays: days(f.tenureDays) } };
    case "attribute": {
      if (!feature) return null;
      const [key, level] = attributeParts(feature);
      if (level !== undefined) return attributeValue === 1 ? { code, text: `${key} is ${level}`, values: { attribute: key!, value: level } } : null;
      if (attributeValue === undefined) return null;
      return { code, text: `${key} ${attributeValue}`, values: { attribute: key!, value: attributeValue } };
    }
  }
}

/**
 * Up to `max` reasons that raised this customer's churn risk the most. Contributions are summed
 * per reason (recency, overdue ratio and P(alive) all speak to "no purchase for N days"), only
 * positive ones count, and a reason the data does not bear out (a "spending down" weight for a
 * customer whose spend rose) is skipped.
 */
export function topReasons(f: CustomerFeatures, contributions: readonly Contribution[], attributeNames: readonly string[] = [], max = 3): Reason[] {
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
 * {@link topReasons} over parallel arrays: `features[j]` pushed the log-odds by `contributions[j]`.
 * Scoring calls this for every customer, so it builds no per-column objects.
 */
export function rankReasons(
  f: CustomerFeatures,
  features: readonly string[],
  contributions: ArrayLike<number>,
  attributeNames: readonly string[] = [],
  max = 3,
): Reason[] {
  const noPurchase = f.recencyDays === null;
  if (slotWeights.length < features.length) {
    slotWeights = new Float64Array(features.length);
    slotFeature = new Int32Array(features.length);
  }
  let slots = 0;
  for (let j = 0; j < features.length; j++) {
    const contribution = contributions[j]!;
    if (!(contribution > 0)) continue;
    const feature = features[j]!;
    const code = cachedCode(feature, noPurchase);
    if (!code) continue;
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
  const reasons: Reason[] = [];
  // The largest remaining weight each time: a few picks among a dozen slots needs no sort.
  while (reasons.length < max) {
    let best = -1;
    for (let k = 0; k < slots; k++) if (slotWeights[k]! > 0 && (best < 0 || slotWeights[k]! > slotWeights[best]!)) best = k;
    if (best < 0) break;
    const weight = slotWeights[best]!;
    slotWeights[best] = 0;
    const feature = features[slotFeature[best]!]!;
    const code = slotCodes[best]!;
    const attrIndex = code === "attribute" ? attributeNames.indexOf(feature) : -1;
    const described = describeReason(code, f, feature, attrIndex >= 0 ? f.attributes[attrIndex] : undefined);
    if (described) reasons.push({ code: described.code, text: described.text, weight: Math.round(weight * 1000) / 1000, values: described.values });
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

const codeCache = new Map<string, readonly [ReasonCode | null, ReasonCode | null]>();
function cachedCode(feature: string, noPurchase: boolean): ReasonCode | null {
  let cached = codeCache.get(feature);
  if (!cached) {
    cached = [codeFor(feature, false), codeFor(feature, true)];
    codeCache.set(feature, cached);
  }
  return cached[noPurchase ? 1 : 0];
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
