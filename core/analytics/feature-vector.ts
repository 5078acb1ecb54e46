// Turns a customer's raw features (features.ts) plus the BG/NBD quantities into the numeric
// vector the churn model sees. Skewed counts and money are log-scaled; missing survey answers
// become indicator columns, so nothing is imputed from thin air.
import type { AttributeFeature, CustomerFeatures } from "./features";

/** The model's behaviour columns, in order; attribute columns follow them. */
export const BASE_FEATURES = [
  "log_recency",
  "no_purchase",
  "log_frequency",
  "log_tenure",
  "log_monetary_mean",
  "log_overdue",
  "spend_trend",
  "log_spend_90",
  "margin_share",
  "nps_detractor",
  "nps_promoter",
  "csat_low",
  "complaints_90",
  "log_complaints_total",
  "log_offers_received",
  "log_offers_declined",
  "p_alive",
  "log_expected_purchases",
  "log_active_days",
  "log_monetary_total",
  "log_item_price",
  "log_item_price_squared",
] as const;
export type BaseFeature = (typeof BASE_FEATURES)[number];

/** BG/NBD quantities for one customer, over the churn horizon. */
export interface LatentQuantities {
  pAlive: number;
  expectedPurchases: number;
}

/** Column names for a model trained with this attribute spec. */
export function featureNames(spec: readonly AttributeFeature[]): string[] {
  return [...BASE_FEATURES, ...spec.map((s) => s.name)];
}

const log1p = (v: number) => Math.log1p(Math.max(0, v));

/** The model input row for one customer (same order as `featureNames`). */
export function featureVector(f: CustomerFeatures, latent: LatentQuantities): number[] {
  return Array.from(writeFeatureVector(f, latent, new Float64Array(BASE_FEATURES.length + f.attributes.length)));
}

/**
 * {@link featureVector} written into `out` (length = base columns + attributes), which it
 * returns: scoring reuses one row for every customer instead of allocating an array each.
 */
export function writeFeatureVector(f: CustomerFeatures, latent: LatentQuantities, out: Float64Array): Float64Array {
  const recency = f.recencyDays ?? f.tenureDays;
  const itemPrice = log1p(f.itemCount > 0 ? f.monetaryTotal / f.itemCount : 0);
  out[0] = log1p(recency);
  out[1] = f.recencyDays === null ? 1 : 0;
  out[2] = log1p(f.frequency);
  out[3] = log1p(f.tenureDays);
  out[4] = log1p(f.monetaryMean ?? 0);
  out[5] = log1p(Math.min(f.overdueRatio ?? 0, 50));
  out[6] = f.spendTrend ?? 0;
  out[7] = log1p(f.spendLast90);
  out[8] = f.marginShare ?? 0;
  out[9] = f.npsLatest !== null && f.npsLatest <= 6 ? 1 : 0;
  out[10] = f.npsLatest !== null && f.npsLatest >= 9 ? 1 : 0;
  out[11] = f.csatLatest !== null && f.csatLatest <= 2 ? 1 : 0;
  out[12] = Math.min(f.complaints90, 10);
  out[13] = log1p(f.complaintsTotal);
  out[14] = log1p(f.offersReceived);
  out[15] = log1p(f.offersDeclined);
  out[16] = Number.isFinite(latent.pAlive) ? latent.pAlive : 0;
  out[17] = log1p(Number.isFinite(latent.expectedPurchases) ? latent.expectedPurchases : 0);
  out[18] = log1p(f.tx);
  out[19] = log1p(f.monetaryTotal);
  // No items-per-order column: the mean order is items per order times the price per item, so
  // beside those two a third column only lets the linear model fit the gaps between their
  // log1p curves, which is noise (CDNOW_master's cross-validated AUC rose without it).
  out[20] = itemPrice;
  // A linear model can only rank by unit price one way; the square lets it treat both
  // bargain and premium buyers as different from the middle.
  out[21] = itemPrice * itemPrice;
  for (let i = 0; i < f.attributes.length; i++) out[BASE_FEATURES.length + i] = f.attributes[i]!;
  return out;
}
