import { Prisma, type Database } from "../db/client";
import { latestScoreRuns } from "./score-runs";

export interface SegmentSize {
  segment: string;
  customers: number;
  /** Customers in the previous run's segment of this name, or null without a previous run. */
  previous: number | null;
  highRisk: number;
  avgChurnProbability: number;
  totalClv: number;
}

export interface SegmentMove {
  from: string;
  to: string;
  customers: number;
}

export interface SegmentOverview {
  asOf: Date | null;
  previousAsOf: Date | null;
  segments: SegmentSize[];
  /** Customers scored in both runs whose segment changed, largest flows first. */
  moves: SegmentMove[];
  highRisk: { current: number; previous: number | null; newlyHigh: number; noLongerHigh: number };
}

/** Scores of customers who asked to be forgotten are left out of every count staff see. */
function notErased(alias: string): Prisma.Sql {
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM customers e WHERE e.id = ${Prisma.raw(alias)}.customer_id AND e.erased_at IS NOT NULL)`;
}

/**
 * Segment sizes in the current scoring run, compared with the previous run, and the flows of
 * customers between segments and into and out of high risk. Three set-based queries.
 * @param highRisk churn probability at which a customer counts as high risk (config RISK_HIGH).
 */
export async function segmentOverview(
  db: Database,
  options: { highRisk: number; maxMoves?: number },
): Promise<SegmentOverview> {
  const { current, previous } = await latestScoreRuns(db);
  if (!current)
    return {
      asOf: null,
      previousAsOf: null,
      segments: [],
      moves: [],
      highRisk: { current: 0, previous: null, newlyHigh: 0, noLongerHigh: 0 },
    };
  const prevId = previous?.id ?? -1;
  const [sizes, moves, risk] = await Promise.all([
    db.prisma.$queryRaw<
      { segment: string; customers: number; previous: number; high_risk: number; avg_risk: number; total_clv: number }[]
    >`
      WITH cur AS (
        SELECT segment, count(*)::int AS customers,
               count(*) FILTER (WHERE churn_probability >= ${options.highRisk})::int AS high_risk,
               avg(churn_probability)::float8 AS avg_risk, coalesce(sum(clv), 0)::float8 AS total_clv
        FROM scores s WHERE run_id = ${current.id} AND ${notErased("s")} GROUP BY segment),
      prev AS (SELECT segment, count(*)::int AS customers FROM scores s WHERE run_id = ${prevId} AND ${notErased("s")} GROUP BY segment)
      SELECT coalesce(cur.segment, prev.segment) AS segment, coalesce(cur.customers, 0) AS customers,
             coalesce(prev.customers, 0) AS previous, coalesce(cur.high_risk, 0) AS high_risk,
             coalesce(cur.avg_risk, 0) AS avg_risk, coalesce(cur.total_clv, 0) AS total_clv
      FROM cur FULL JOIN prev ON prev.segment = cur.segment
      ORDER BY 2 DESC, 1`,
    db.prisma.$queryRaw<{ from: string; to: string; customers: number }[]>`
      SELECT p.segment AS "from", c.segment AS "to", count(*)::int AS customers
      FROM scores c JOIN scores p ON p.customer_id = c.customer_id AND p.run_id = ${prevId}
      WHERE c.run_id = ${current.id} AND c.segment <> p.segment AND ${notErased("c")}
      GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ${options.maxMoves ?? 20}`,
    db.prisma.$queryRaw<{ current: number; previous: number; newly_high: number; no_longer_high: number }[]>`
      SELECT count(*) FILTER (WHERE c.churn_probability >= ${options.highRisk})::int AS current,
             (SELECT count(*) FROM scores s WHERE run_id = ${prevId} AND churn_probability >= ${options.highRisk} AND ${notErased("s")})::int AS previous,
             count(*) FILTER (WHERE c.churn_probability >= ${options.highRisk} AND p.churn_probability < ${options.highRisk})::int AS newly_high,
             count(*) FILTER (WHERE c.churn_probability < ${options.highRisk} AND p.churn_probability >= ${options.highRisk})::int AS no_longer_high
      FROM scores c LEFT JOIN scores p ON p.customer_id = c.customer_id AND p.run_id = ${prevId}
      WHERE c.run_id = ${current.id} AND ${notErased("c")}`,
  ]);
  const r = risk[0] ?? { current: 0, previous: 0, newly_high: 0, no_longer_high: 0 };
  return {
    asOf: current.asOf,
    previousAsOf: previous?.asOf ?? null,
    segments: sizes.map((s) => ({
      segment: s.segment,
      customers: s.customers,
      previous: previous ? s.previous : null,
      highRisk: s.high_risk,
      avgChurnProbability: Number(s.avg_risk),
      totalClv: Number(s.total_clv),
    })),
    moves: previous ? moves : [],
    highRisk: {
      current: r.current,
      previous: previous ? r.previous : null,
      newlyHigh: previous ? r.newly_high : 0,
      noLongerHigh: previous ? r.no_longer_high : 0,
    },
  };
}
