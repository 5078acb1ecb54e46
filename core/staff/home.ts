// The numbers on the staff app's Home tab: how many customers are at high risk now and how that
// moved since the previous scoring run, open tickets by age, and the NPS trend of the last weeks
// with each week's answer count. Erased customers are left out everywhere. No personal data.
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { weeklyNps } from "./digest";
import { latestScoreRuns } from "./score-runs";

const DAY = 86_400_000;

export interface StaffHome {
  atRisk: {
    /** High-risk customers in the current run; null before any scoring run. */
    current: number | null;
    /** The same count in the previous run; null when there is none. */
    previous: number | null;
    asOf: Date | null;
  };
  /** Unresolved tickets by how long ago they were opened. */
  openTickets: { underHour: number; underDay: number; older: number };
  /** Oldest week first; `nps` null for a week without answers. */
  npsWeeks: { weekStart: Date; nps: number | null; answers: number }[];
}

/**
 * Reads the Home tab's numbers: three queries. `riskHigh` is the churn probability counted as
 * high risk; `weeks` of NPS (default 6) end at `now`.
 */
export async function staffHome(
  db: Database,
  options: { now: Date; riskHigh: number; weeks?: number },
): Promise<StaffHome> {
  const { now, riskHigh } = options;
  const weeks = options.weeks ?? 6;
  const runs = await latestScoreRuns(db);
  const runIds = [runs.current?.id, runs.previous?.id].filter((id): id is number => id !== undefined);
  const seriesFrom = new Date(now.getTime() - weeks * 7 * DAY);
  const [counts, tickets, npsSeries] = await Promise.all([
    db.prisma.$queryRaw<{ run_id: number; n: number }[]>`
      SELECT s.run_id, count(*)::int AS n FROM scores s JOIN customers c ON c.id = s.customer_id AND c.erased_at IS NULL
      WHERE s.run_id = ANY(${runIds}::int[]) AND s.churn_probability >= ${riskHigh}
      GROUP BY s.run_id`,
    db.prisma.$queryRaw<{ under_hour: number; under_day: number; older: number }[]>`
      SELECT count(*) FILTER (WHERE t.created_at > ${sqlTimestamp(new Date(now.getTime() - 3_600_000))})::int AS under_hour,
             count(*) FILTER (WHERE t.created_at <= ${sqlTimestamp(new Date(now.getTime() - 3_600_000))}
                                AND t.created_at > ${sqlTimestamp(new Date(now.getTime() - DAY))})::int AS under_day,
             count(*) FILTER (WHERE t.created_at <= ${sqlTimestamp(new Date(now.getTime() - DAY))})::int AS older
      FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id
      WHERE t.status IN ('open', 'pending') AND c.erased_at IS NULL`,
    weeklyNps(db, { from: seriesFrom, weeks }),
  ]);
  const countOf = (id: number | undefined) => (id === undefined ? null : (counts.find((c) => c.run_id === id)?.n ?? 0));
  const t = tickets[0] ?? { under_hour: 0, under_day: 0, older: 0 };
  return {
    atRisk: {
      current: countOf(runs.current?.id),
      previous: countOf(runs.previous?.id),
      asOf: runs.current?.asOf ?? null,
    },
    openTickets: { underHour: t.under_hour, underDay: t.under_day, older: t.older },
    npsWeeks: npsSeries.map((week) => ({
      weekStart: week.weekStart,
      nps: week.respondents > 0 ? week.nps : null,
      answers: week.respondents,
    })),
  };
}
