// What to offer: a purchase category to suggest inside a retention offer, by item-to-item
// co-purchase over categories. Two categories are associated when the customers who bought one
// bought the other more often than chance (lift = P(both) / (P(a) x P(b)) above 1, among at least
// `MIN_PAIR_CUSTOMERS` customers); the strength of an association is its cosine similarity
// (customers who bought both / sqrt(buyers of a x buyers of b)), which does not favour rare
// categories as lift does. For a customer, each category they did not buy recently scores the
// sum of its associations with the categories they bought; the best one is the suggestion.
// "More often than chance" is a test, not a hair above 1: the customers who bought both exceed
// the count independence predicts (E = buyers of a x buyers of b / customers) by at least
// `MIN_Z` Poisson standard deviations (sqrt E), so random co-occurrence suggests nothing.
// "Recently" is the customer's own: within `RECENT_DAYS` before their last purchase, so a
// customer who stopped buying months ago is not offered the very section they always used.
//
// The associations are aggregates over all customers, learned set-based by the scoring job
// (`learnCategoryAssociations`) into `category_associations`; a suggestion is one small query
// per batch of customers (`recommendCategories`), used by the offer context (the dispatcher's
// batch and the single-message form).
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";

/** Fewer customers than this buying both categories is no signal. */
export const MIN_PAIR_CUSTOMERS = 3;
/** How many standard deviations above the independent count a pair's customers must be. */
export const MIN_Z = 2;
/** A category bought this many days before the customer's last purchase, or since, is not suggested. */
export const RECENT_DAYS = 180;

/**
 * Recomputes `category_associations` from every purchase with a category, in one statement:
 * the ordered pairs bought together by at least `MIN_PAIR_CUSTOMERS` customers and `MIN_Z`
 * standard deviations more often than independence predicts.
 * @returns how many categories there are and how many ordered pairs passed the test.
 */
export async function learnCategoryAssociations(
  db: Database,
  options: { now: Date },
): Promise<{ categories: number; pairs: number }> {
  return db.prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`DELETE FROM category_associations`;
      const pairs = await tx.$executeRaw`
        WITH cc AS (
          SELECT DISTINCT customer_id, category FROM purchases WHERE category IS NOT NULL AND btrim(category) <> ''
        ), total AS (SELECT count(DISTINCT customer_id)::float8 AS n FROM cc),
        single AS (SELECT category, count(*)::float8 AS buyers FROM cc GROUP BY 1),
        pairs AS (
          SELECT a.category, b.category AS other, count(*)::int AS both_
          FROM cc a JOIN cc b ON b.customer_id = a.customer_id AND b.category <> a.category
          GROUP BY 1, 2
        )
        INSERT INTO category_associations (category, other, customers, lift, cosine, computed_at)
        SELECT p.category, p.other, p.both_, p.both_ * t.n / (sa.buyers * sb.buyers),
               p.both_ / sqrt(sa.buyers * sb.buyers), ${sqlTimestamp(options.now)}
        FROM pairs p JOIN single sa ON sa.category = p.category JOIN single sb ON sb.category = p.other CROSS JOIN total t
        WHERE p.both_ >= ${MIN_PAIR_CUSTOMERS}
          AND p.both_ - sa.buyers * sb.buyers / t.n >= ${MIN_Z}::float8 * sqrt(sa.buyers * sb.buyers / t.n)`;
      const [count] = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(DISTINCT category)::int AS n FROM purchases WHERE category IS NOT NULL AND btrim(category) <> ''`;
      return { categories: count?.n ?? 0, pairs };
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
}

/**
 * The suggested category for each customer that has one (see the file comment); customers with
 * no associated category they did not buy recently are absent from the map.
 */
export async function recommendCategories(db: Database, customerIds: readonly number[]): Promise<Map<number, string>> {
  if (customerIds.length === 0) return new Map();
  const rows = await db.prisma.$queryRaw<{ customer_id: number; category: string }[]>`
    WITH bought AS (
      SELECT customer_id, category, max(purchased_at) AS last_at FROM purchases
      WHERE customer_id = ANY(${[...customerIds]}::int[]) AND category IS NOT NULL
      GROUP BY 1, 2
    ), recent AS (
      SELECT b.customer_id, b.category FROM bought b
      JOIN (SELECT customer_id, max(last_at) AS last_at FROM bought GROUP BY 1) l ON l.customer_id = b.customer_id
      WHERE b.last_at > l.last_at - make_interval(days => ${RECENT_DAYS}::int)
    ), scored AS (
      SELECT b.customer_id, a.other AS category, sum(a.cosine) AS score
      FROM bought b JOIN category_associations a ON a.category = b.category
      WHERE NOT EXISTS (SELECT 1 FROM recent r WHERE r.customer_id = b.customer_id AND r.category = a.other)
      GROUP BY 1, 2
    )
    SELECT DISTINCT ON (customer_id) customer_id, category FROM scored ORDER BY customer_id, score DESC, category`;
  return new Map(rows.map((r) => [r.customer_id, r.category]));
}
