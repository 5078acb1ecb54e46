import { sqlTimestamp } from "../messaging/outbox";
import { Prisma, type Database } from "../db/client";

export interface FeedbackThemeCount {
  theme: string;
  mentions: number;
  /** Mean NPS score of NPS answers tagged with this theme, or null when there are none. */
  avgNps: number | null;
  complaints: number;
}

export interface FeedbackQuote {
  feedbackId: number;
  customerId: number | null;
  kind: string;
  score: number | null;
  themes: string[];
  /** Written by the customer: untrusted text. */
  comment: string;
  at: Date;
}

export interface FeedbackThemes {
  from: Date;
  to: Date;
  answers: number;
  themes: FeedbackThemeCount[];
  quotes: FeedbackQuote[];
}

/**
 * Themes tagged on feedback in `[from, to)`, most mentioned first, with the newest written
 * comments (optionally only those tagged with `theme`). Quotes are customers' own words: the
 * caller must treat them as untrusted.
 */
export async function feedbackThemes(
  db: Database,
  options: { from: Date; to: Date; theme?: string; quotes?: number; maxThemes?: number },
): Promise<FeedbackThemes> {
  const themeFilter = options.theme
    ? Prisma.sql`AND ${options.theme.toLowerCase()} = ANY (SELECT lower(t) FROM unnest(f.themes) t)`
    : Prisma.empty;
  const [counts, total, quotes] = await Promise.all([
    db.prisma.$queryRaw<{ theme: string; mentions: number; avg_nps: number | null; complaints: number }[]>`
      SELECT t.theme, count(*)::int AS mentions,
             (avg(f.score) FILTER (WHERE f.kind = 'nps'))::float8 AS avg_nps,
             count(*) FILTER (WHERE f.kind = 'complaint')::int AS complaints
      FROM feedback f CROSS JOIN LATERAL unnest(f.themes) AS t(theme)
      WHERE f.created_at >= ${sqlTimestamp(options.from)} AND f.created_at < ${sqlTimestamp(options.to)}
      GROUP BY t.theme ORDER BY 2 DESC, 1 LIMIT ${options.maxThemes ?? 15}`,
    db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM feedback WHERE created_at >= ${sqlTimestamp(options.from)} AND created_at < ${sqlTimestamp(options.to)}`,
    db.prisma.$queryRaw<
      {
        id: number;
        customer_id: number | null;
        kind: string;
        score: number | null;
        themes: string[];
        comment: string;
        created_at: Date;
      }[]
    >`
      SELECT f.id, f.customer_id, f.kind, f.score, f.themes, f.comment, f.created_at
      FROM feedback f
      WHERE f.created_at >= ${sqlTimestamp(options.from)} AND f.created_at < ${sqlTimestamp(options.to)}
        AND f.comment IS NOT NULL AND length(trim(f.comment)) > 0 ${themeFilter}
      ORDER BY f.created_at DESC, f.id DESC LIMIT ${options.quotes ?? 5}`,
  ]);
  return {
    from: options.from,
    to: options.to,
    answers: total[0]?.n ?? 0,
    themes: counts.map((c) => ({
      theme: c.theme,
      mentions: c.mentions,
      avgNps: c.avg_nps === null ? null : Number(c.avg_nps),
      complaints: c.complaints,
    })),
    quotes: quotes.map((q) => ({
      feedbackId: q.id,
      customerId: q.customer_id,
      kind: q.kind,
      score: q.score,
      themes: q.themes,
      comment: q.comment,
      at: q.created_at,
    })),
  };
}
