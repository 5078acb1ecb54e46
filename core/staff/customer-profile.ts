import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";
import { readReasons } from "../analytics/reasons";
import type { ScoreReason } from "./at-risk";
import { latestScoreRuns } from "./score-runs";

export type LookupError =
  | { type: "empty_query" }
  | { type: "not_found"; query: string }
  | { type: "ambiguous"; query: string; matches: { externalId: string; name: string | null }[] };

export interface CustomerIdentity {
  id: number;
  externalId: string;
  name: string | null;
  email: string | null;
  phone: string | null;
}

export interface CustomerProfile extends CustomerIdentity {
  locale: string | null;
  signedUpAt: Date | null;
  attributes: Record<string, unknown>;
  score: {
    asOf: Date;
    churnProbability: number;
    riskBand: string;
    clv: number | null;
    pAlive: number | null;
    expectedPurchases: number | null;
    segment: string;
    reasons: ScoreReason[];
  } | null;
  purchases: {
    count: number;
    total: number;
    firstAt: Date | null;
    lastAt: Date | null;
    recent: { at: Date; amount: number; category: string | null }[];
  };
  feedback: { kind: string; score: number | null; comment: string | null; themes: string[]; at: Date }[];
  tickets: {
    id: number;
    reference: string;
    status: string;
    subject: string | null;
    createdAt: Date;
    resolvedAt: Date | null;
    csatScore: number | null;
  }[];
  offers: { code: string; title: string; status: string; issuedAt: Date; expiresAt: Date }[];
  consent: { marketing: boolean; optedOutAt: Date | null; telegramLinked: boolean; unreachable: boolean };
}

/** Digits of a phone number with a leading + kept, so "+1 (555) 010-2030" finds "+15550102030". */
export function normalizePhone(text: string): string {
  const digits = text.replace(/[^\d]/g, "");
  return text.trim().startsWith("+") ? `+${digits}` : digits;
}

/**
 * Finds one customer by external id, e-mail (any case), phone (any punctuation) or, last, the
 * exact full name. Erased customers are never found.
 */
export async function findCustomer(db: Database, query: string): Promise<Result<CustomerIdentity, LookupError>> {
  const q = query.trim();
  if (!q) return err({ type: "empty_query" });
  const phone = normalizePhone(q);
  const phoneDigits = phone.replace("+", "");
  const rows = await db.prisma.$queryRaw<(CustomerIdentity & { rank: number })[]>`
    SELECT id, external_id AS "externalId", name, email, phone,
           CASE WHEN external_id = ${q} THEN 1
                WHEN lower(email) = lower(${q}) THEN 2
                WHEN ${phoneDigits.length >= 6} AND regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') = ${phoneDigits} THEN 3
                ELSE 4 END AS rank
    FROM customers
    WHERE erased_at IS NULL AND (
      external_id = ${q} OR lower(email) = lower(${q})
      OR (${phoneDigits.length >= 6} AND regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') = ${phoneDigits})
      OR lower(name) = lower(${q}))
    ORDER BY rank, id LIMIT 6`;
  const best = rows[0];
  if (!best) return err({ type: "not_found", query: q });
  const sameRank = rows.filter((r) => r.rank === best.rank);
  if (sameRank.length > 1)
    return err({
      type: "ambiguous",
      query: q,
      matches: sameRank.map((r) => ({ externalId: r.externalId, name: r.name })),
    });
  const { rank: _rank, ...identity } = best;
  return ok(identity);
}

/**
 * Everything staff need on one customer: current score with reasons, CLV, segment, recent
 * purchases, feedback, tickets, offers and consent. Five small indexed queries.
 */
export async function customerProfile(
  db: Database,
  customerId: number,
  /** `locale`: the reader's language for the reasons (the staff's); English by default. */
  options: { recent?: number; locale?: string } = {},
): Promise<CustomerProfile | null> {
  const recent = options.recent ?? 5;
  const customer = await db.prisma.customer.findUnique({ where: { id: customerId } });
  if (!customer || customer.erasedAt) return null;
  const { current } = await latestScoreRuns(db);
  const [score, purchaseStats, recentPurchases, feedback, tickets, offers] = await Promise.all([
    current ? db.prisma.score.findUnique({ where: { runId_customerId: { runId: current.id, customerId } } }) : null,
    db.prisma.$queryRaw<{ count: number; total: number; first_at: Date | null; last_at: Date | null }[]>`
      SELECT count(*)::int AS count, coalesce(sum(amount), 0)::float8 AS total, min(purchased_at) AS first_at, max(purchased_at) AS last_at
      FROM purchases WHERE customer_id = ${customerId}`,
    db.prisma.purchase.findMany({ where: { customerId }, orderBy: { purchasedAt: "desc" }, take: recent }),
    db.prisma.feedback.findMany({ where: { customerId }, orderBy: { createdAt: "desc" }, take: recent }),
    db.prisma.ticket.findMany({ where: { customerId }, orderBy: { createdAt: "desc" }, take: recent }),
    db.prisma.offerIssue.findMany({
      where: { customerId },
      orderBy: { issuedAt: "desc" },
      take: recent,
      include: { offer: true },
    }),
  ]);
  const stats = purchaseStats[0] ?? { count: 0, total: 0, first_at: null, last_at: null };
  return {
    id: customer.id,
    externalId: customer.externalId,
    name: customer.name,
    email: customer.email,
    phone: customer.phone,
    locale: customer.locale,
    signedUpAt: customer.signedUpAt,
    attributes: (customer.attributes ?? {}) as Record<string, unknown>,
    score: score
      ? {
          asOf: score.asOf,
          churnProbability: score.churnProbability,
          riskBand: score.riskBand,
          clv: score.clv,
          pAlive: score.pAlive,
          expectedPurchases: score.expectedPurchases,
          segment: score.segment,
          reasons: readReasons(score.reasons, options.locale),
        }
      : null,
    purchases: {
      count: stats.count,
      total: Number(stats.total),
      firstAt: stats.first_at,
      lastAt: stats.last_at,
      recent: recentPurchases.map((p) => ({ at: p.purchasedAt, amount: Number(p.amount), category: p.category })),
    },
    feedback: feedback.map((f) => ({
      kind: f.kind,
      score: f.score,
      comment: f.comment,
      themes: f.themes,
      at: f.createdAt,
    })),
    tickets: tickets.map((t) => ({
      id: t.id,
      reference: t.reference,
      status: t.status,
      subject: t.subject,
      createdAt: t.createdAt,
      resolvedAt: t.resolvedAt,
      csatScore: t.csatScore,
    })),
    offers: offers.map((o) => ({
      code: o.code,
      title: o.offer.title,
      status: o.status,
      issuedAt: o.issuedAt,
      expiresAt: o.expiresAt,
    })),
    consent: {
      marketing: customer.marketingConsent && customer.optedOutAt === null,
      optedOutAt: customer.optedOutAt,
      telegramLinked: customer.telegramChatId !== null,
      unreachable: customer.unreachableAt !== null,
    },
  };
}
