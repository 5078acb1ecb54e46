import { readReasons, type ReadReason } from "../analytics/reasons";
import { stringify } from "csv-stringify/sync";
import { Prisma, type Database } from "../db/client";
import { latestScoreRuns } from "./score-runs";

/** One readable reason behind a score (worded by readReasons in core/analytics/reasons.ts). */
export type ScoreReason = ReadReason;

export interface AtRiskFilter {
  /** Segment name, matched without regard to case ("champions" = "Champions"). */
  segment?: string;
  /** Lowest churn probability to include, 0..1. */
  minRisk: number;
  /** Rows to return; the CSV export ignores it. */
  limit: number;
  /** Rows to skip first (a later page of the list); the CSV export ignores it. */
  offset?: number;
  orderBy?: "risk" | "clv";
  /** The reader's language for the reasons (the staff's); English by default. */
  locale?: string;
}

export interface AtRiskRow {
  customerId: number;
  externalId: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  churnProbability: number;
  riskBand: string;
  clv: number | null;
  segment: string;
  reasons: ScoreReason[];
  lastPurchaseAt: Date | null;
  telegramLinked: boolean;
  marketingConsent: boolean;
}

export interface AtRiskList {
  /** As-of date of the scoring run read, or null when nothing has been scored yet. */
  asOf: Date | null;
  /** Customers matching the filter (before the limit). */
  total: number;
  rows: AtRiskRow[];
}

interface RawAtRiskRow {
  customer_id: number;
  external_id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  churn_probability: number;
  risk_band: string;
  clv: number | null;
  segment: string;
  reasons: unknown;
  last_purchase_at: Date | null;
  telegram_linked: boolean;
  marketing_consent: boolean;
  total: number;
}

/**
 * Customers of the current scoring run at or above a churn probability, optionally in one
 * segment, riskiest (or most valuable) first. Erased customers are left out. One query.
 */
export async function listAtRisk(db: Database, filter: AtRiskFilter): Promise<AtRiskList> {
  const { current } = await latestScoreRuns(db);
  if (!current) return { asOf: null, total: 0, rows: [] };
  const rows = await queryAtRisk(db, current.id, filter, filter.limit, filter.offset ?? 0);
  // A page past the end has no row to carry the count: count once more without the offset.
  const total =
    rows[0]?.total ?? (filter.offset ? (await queryAtRisk(db, current.id, filter, 1, 0))[0]?.total : 0) ?? 0;
  return { asOf: current.asOf, total, rows: rows.map((r) => toRow(r, filter.locale)) };
}

/**
 * The whole at-risk list for a filter (no limit) as CSV text with a header row, for the file
 * attached to the Slack table.
 */
export async function atRiskCsv(
  db: Database,
  filter: Omit<AtRiskFilter, "limit">,
): Promise<{ csv: string; rows: number }> {
  const { current } = await latestScoreRuns(db);
  const rows = current ? (await queryAtRisk(db, current.id, filter, null)).map((r) => toRow(r, filter.locale)) : [];
  const csv = stringify(
    rows.map((r) => ({
      external_id: r.externalId,
      name: r.name ?? "",
      email: r.email ?? "",
      phone: r.phone ?? "",
      churn_probability: r.churnProbability.toFixed(4),
      risk_band: r.riskBand,
      clv: r.clv === null ? "" : r.clv.toFixed(2),
      segment: r.segment,
      last_purchase_at: r.lastPurchaseAt ? r.lastPurchaseAt.toISOString().slice(0, 10) : "",
      reasons: r.reasons.map((x) => x.text).join("; "),
      telegram_linked: r.telegramLinked ? "yes" : "no",
      marketing_consent: r.marketingConsent ? "yes" : "no",
    })),
    {
      header: true,
      columns: [
        "external_id",
        "name",
        "email",
        "phone",
        "churn_probability",
        "risk_band",
        "clv",
        "segment",
        "last_purchase_at",
        "reasons",
        "telegram_linked",
        "marketing_consent",
      ],
    },
  );
  return { csv, rows: rows.length };
}

async function queryAtRisk(
  db: Database,
  runId: number,
  filter: Omit<AtRiskFilter, "limit">,
  limit: number | null,
  offset = 0,
): Promise<RawAtRiskRow[]> {
  const segment = filter.segment ? Prisma.sql`AND lower(s.segment) = lower(${filter.segment})` : Prisma.empty;
  const order =
    filter.orderBy === "clv"
      ? Prisma.sql`ORDER BY s.clv DESC NULLS LAST, s.churn_probability DESC, c.id`
      : Prisma.sql`ORDER BY s.churn_probability DESC, s.clv DESC NULLS LAST, c.id`;
  const limitSql = limit === null ? Prisma.empty : Prisma.sql`LIMIT ${limit} OFFSET ${offset}`;
  return db.prisma.$queryRaw<RawAtRiskRow[]>`
    SELECT c.id AS customer_id, c.external_id, c.name, c.email, c.phone,
           s.churn_probability, s.risk_band, s.clv, s.segment, s.reasons,
           (SELECT max(p.purchased_at) FROM purchases p WHERE p.customer_id = c.id) AS last_purchase_at,
           (c.telegram_chat_id IS NOT NULL) AS telegram_linked,
           (c.marketing_consent AND c.opted_out_at IS NULL) AS marketing_consent,
           (count(*) OVER ())::int AS total
    FROM scores s JOIN customers c ON c.id = s.customer_id
    WHERE s.run_id = ${runId} AND s.churn_probability >= ${filter.minRisk} AND c.erased_at IS NULL ${segment}
    ${order} ${limitSql}`;
}

function toRow(r: RawAtRiskRow, locale = "en"): AtRiskRow {
  return {
    customerId: r.customer_id,
    externalId: r.external_id,
    name: r.name,
    email: r.email,
    phone: r.phone,
    churnProbability: Number(r.churn_probability),
    riskBand: r.risk_band,
    clv: r.clv === null ? null : Number(r.clv),
    segment: r.segment,
    reasons: readReasons(r.reasons, locale),
    lastPurchaseAt: r.last_purchase_at,
    telegramLinked: r.telegram_linked,
    marketingConsent: r.marketing_consent,
  };
}
