// The customer's own context for an offer message: first name, segment and reasons from the
// newest scoring run, the category they bought most, and a category suggested by co-purchase. Added to an offer's payload before it
// is rendered, so the template or the LLM can speak to this person.
import { readReasons } from "../analytics/reasons";
import type { Database } from "../db/client";
import type { OutboundMessage } from "../messaging/channel";
import { recommendCategories } from "./category-recommendation";

export interface OfferContext {
  customerName: string | null;
  segment: string | null;
  topCategory: string | null;
  /** A category they did not buy recently, bought by customers who bought what they did. */
  recommendedCategory: string | null;
  /** As scored: code, text in the customer's language, and the numbers (`values`). */
  reasons: { code?: string; text: string; values?: Record<string, unknown> }[];
}

/**
 * A score's reasons for an offer: code, text worded in `locale` (the customer's language) and the
 * numbers, so the offer text can tell the customer "94 days since your last order" from `values`
 * too. The model's weights stay out of the message.
 */
export function readableReasons(raw: unknown, locale: string): OfferContext["reasons"] {
  return readReasons(raw, locale).map(({ code, text, values }) => ({ code, text, values }));
}

/**
 * Reads the context for one customer (4 small queries); reasons are worded in `locale`, else the
 * customer's own language, else English.
 */
export async function loadOfferContext(db: Database, customerId: number, locale?: string): Promise<OfferContext> {
  const [customer, score, category, recommended] = await Promise.all([
    db.prisma.customer.findUnique({ where: { id: customerId }, select: { name: true, locale: true } }),
    db.prisma.$queryRaw<{ segment: string; reasons: unknown }[]>`
      SELECT s.segment, s.reasons FROM scores s
      WHERE s.customer_id = ${customerId}
      ORDER BY s.run_id DESC LIMIT 1`,
    db.prisma.$queryRaw<{ category: string }[]>`
      SELECT category FROM purchases WHERE customer_id = ${customerId} AND category IS NOT NULL
      GROUP BY category ORDER BY count(*) DESC, max(purchased_at) DESC LIMIT 1`,
    recommendCategories(db, [customerId]),
  ]);
  const reasons = readableReasons(score[0]?.reasons, locale ?? customer?.locale ?? "en");
  return {
    customerName: customer?.name ?? null,
    segment: score[0]?.segment ?? null,
    topCategory: category[0]?.category ?? null,
    recommendedCategory: recommended.get(customerId) ?? null,
    reasons,
  };
}

/**
 * Adds the customer's context to an offer message whose payload lacks it (other kinds pass
 * through). Pass as `enrich` to the Telegram channel or use before a dry-run render.
 */
export async function enrichOutboundMessage(db: Database, message: OutboundMessage): Promise<OutboundMessage> {
  if (message.kind !== "offer") return message;
  let payload = message.payload;
  // The offer itself (its words in every language, expiry) when the payload lacks them: rows
  // queued with only the issue id, or before the catalogue had per-language words.
  const offerIssueId = Number(payload.offerIssueId);
  if (
    Number.isInteger(offerIssueId) &&
    offerIssueId > 0 &&
    (!payload.title || !payload.expiresAt || !("translations" in payload))
  ) {
    const issue = await db.prisma.offerIssue.findUnique({
      where: { id: offerIssueId },
      include: { offer: { select: { title: true, description: true, translations: true } } },
    });
    if (issue)
      payload = {
        title: issue.offer.title,
        description: issue.offer.description,
        translations: issue.offer.translations,
        expiresAt: issue.expiresAt.toISOString(),
        ...payload,
      };
  }
  // The customer's context, unless a batch step (the dispatcher's) added it already.
  if (message.customerId !== null && !("customerName" in payload))
    payload = { ...payload, ...(await loadOfferContext(db, message.customerId, message.locale)) };
  return payload === message.payload ? message : { ...message, payload };
}
