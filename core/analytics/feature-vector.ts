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
  "log_items_per_order",
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
  const recency = f.recencyDays ?? f.tenureDays;
  const itemPrice = log1p(f.itemCount > 0 ? f.monetaryTotal / f.itemCount : 0);
  return [
    log1p(recency),
    f.recencyDays === null ? 1 : 0,
    log1p(f.frequency),
    log1p(f.tenureDays),
    log1p(f.monetaryMean ?? 0),
    log1p(Math.min(f.overdueRatio ?? 0, 50)),
    f.spendTrend ?? 0,
    log1p(f.spendLast90),
    f.marginShare ?? 0,
    f.npsLatest !== null && f.npsLatest <= 6 ? 1 : 0,
    f.npsLatest !== null && f.npsLatest >= 9 ? 1 : 0,
    f.csatLatest !== null && f.csatLatest <= 2 ? 1 : 0,
    Math.min(f.complaints90, 10),
    log1p(f.complaintsTotal),
    log1p(f.offersReceived),
    log1p(f.offersDeclined),
    Number.isFinite(latent.pAlive) ? latent.pAlive : 0,
    log1p(Number.isFinite(latent.expectedPurchases) ? latent.expectedPurchases : 0),
    log1p(f.tx),
    log1p(f.monetaryTotal),
    log1p(f.purchaseCount > 0 ? f.itemCount / f.purchaseCount : 0),
    itemPrice,
    // A linear model can only rank by unit price one way; the square lets it treat both
    // bargain and premium buyers as different from the middle.
    itemPrice * itemPrice,
    ...f.attributes,
  ];
}
