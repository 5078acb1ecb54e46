// Consent and data rights. Opting out stops offers and surveys at once (the contact policy reads
// `marketing_consent`); answers to the customer's own questions continue. Export gives a JSON
// document of everything we hold about a person; erasure removes personal data and keeps only
// anonymous aggregates. Every change leaves an `audit_log` row.
import { MARKETING_KINDS } from "../messaging/outbox";
import { readReasons } from "../analytics/reasons";
import { defaultTranslator } from "../messaging/locales";
import { randomUUID } from "node:crypto";
import { Prisma, type Database } from "../db/client";
import { err, ok, type Result } from "../result";
import { suppress, suppressionListForErasure, type ErasureSettings } from "./suppression";

export type ConsentError = { type: "not_found" } | { type: "erased" };

function auditRow(db: Database, actor: string, action: string, customerId: number, now: Date, details: object = {}) {
  return db.prisma.auditLog.create({
    data: { actor, action, entityType: "customer", entityId: String(customerId), details, createdAt: now },
  });
}

async function audit(
  db: Database,
  actor: string,
  action: string,
  customerId: number,
  now: Date,
  details: object = {},
): Promise<void> {
  await auditRow(db, actor, action, customerId, now, details);
}

/**
 * Opts a customer out of all marketing. Pending offers and surveys in the outbox are skipped.
 * @returns `changed: false` when they were already opted out.
 */
export async function optOut(
  db: Database,
  customerId: number,
  options: { now: Date; actor: string; reason?: string },
): Promise<Result<{ changed: boolean }, ConsentError>> {
  const customer = await db.prisma.customer.findUnique({
    where: { id: customerId },
    select: { marketingConsent: true, erasedAt: true },
  });
  if (!customer) return err({ type: "not_found" });
  if (customer.erasedAt) return err({ type: "erased" });
  if (!customer.marketingConsent) return ok({ changed: false });
  // One transaction: consent off, queued marketing skipped and the audit row, or none of them.
  const [changed] = await db.prisma.$transaction([
    db.prisma.customer.updateMany({
      where: { id: customerId, marketingConsent: true },
      data: { marketingConsent: false, optedOutAt: options.now },
    }),
    db.prisma.outboxMessage.updateMany({
      where: { customerId, status: "pending", kind: { in: [...MARKETING_KINDS] } },
      data: { status: "skipped", skipReason: "opted_out" },
    }),
    auditRow(db, options.actor, "consent.opt_out", customerId, options.now, { reason: options.reason ?? "customer" }),
  ]);
  return ok({ changed: changed.count > 0 });
}

/**
 * Opts a customer in (they said yes: to the question asked when their chat was linked, or to
 * /start after /stop). `source` says where they agreed; it is kept in the audit row.
 */
export async function optIn(
  db: Database,
  customerId: number,
  options: { now: Date; actor: string; source?: string },
): Promise<Result<{ changed: boolean }, ConsentError>> {
  const customer = await db.prisma.customer.findUnique({
    where: { id: customerId },
    select: { marketingConsent: true, erasedAt: true },
  });
  if (!customer) return err({ type: "not_found" });
  if (customer.erasedAt) return err({ type: "erased" });
  if (customer.marketingConsent) return ok({ changed: false });
  await db.prisma.$transaction([
    db.prisma.customer.update({
      where: { id: customerId },
      data: {
        marketingConsent: true,
        optedOutAt: null,
        consentAt: options.now,
        consentSource: options.source ?? "telegram",
      },
    }),
    auditRow(db, options.actor, "consent.opt_in", customerId, options.now, { source: options.source ?? "telegram" }),
  ]);
  return ok({ changed: true });
}

/** Whether marketing may reach this customer at all (consent given, not erased). */
export async function hasMarketingConsent(db: Database, customerId: number): Promise<boolean> {
  const customer = await db.prisma.customer.findUnique({
    where: { id: customerId },
    select: { marketingConsent: true, erasedAt: true },
  });
  return Boolean(customer && customer.marketingConsent && !customer.erasedAt);
}

const json = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v)));

/** A score as its person reads it: the risk of leaving as a word, the reasons in their language. */
function scoreForPerson(
  score: { asOf: Date; riskBand: string; segment: string; clv: unknown; reasons: unknown },
  locale: string,
) {
  const band = ["high", "medium", "low"].includes(score.riskBand) ? score.riskBand : "medium";
  const value = Number(score.clv);
  return {
    asOf: score.asOf,
    riskOfLeaving: defaultTranslator()(locale, `mydata-risk-${band}`),
    segment: score.segment,
    reasons: readReasons(score.reasons, locale).map((r) => r.text),
    ...(Number.isFinite(value) ? { expectedValue: Math.round(value * 100) / 100 } : {}),
  };
}

/**
 * Everything we hold about a customer, as a plain JSON-ready object (GDPR Art. 15/20), worded
 * for the person in `locale` (default their own, else English): scores as a risk level and
 * reasons, never the model's raw numbers. Logged in `audit_log` as `gdpr.export`.
 */
export async function exportCustomerData(
  db: Database,
  customerId: number,
  options: { now: Date; actor: string; locale?: string } = { now: new Date(), actor: "system" },
): Promise<Result<Record<string, unknown>, { type: "not_found" }>> {
  const customer = await db.prisma.customer.findUnique({
    where: { id: customerId },
    include: { sendHour: { select: { hour: true, computedAt: true } } },
  });
  if (!customer) return err({ type: "not_found" });
  const [purchases, scores, offers, redemptions, feedback, tickets, messages, conversations, consentLog] =
    await Promise.all([
      db.prisma.purchase.findMany({
        where: { customerId },
        orderBy: { purchasedAt: "asc" },
        select: { externalId: true, purchasedAt: true, amount: true, quantity: true, category: true },
      }),
      db.prisma.score.findMany({
        where: { customerId },
        orderBy: { asOf: "asc" },
        select: { asOf: true, churnProbability: true, riskBand: true, segment: true, clv: true, reasons: true },
      }),
      db.prisma.offerIssue.findMany({
        where: { customerId },
        include: { offer: { select: { title: true, kind: true, value: true } } },
      }),
      db.prisma.redemption.findMany({ where: { customerId } }),
      db.prisma.feedback.findMany({
        where: { customerId },
        select: {
          kind: true,
          score: true,
          dimension: true,
          expectation: true,
          perception: true,
          gap: true,
          comment: true,
          themes: true,
          createdAt: true,
        },
      }),
      db.prisma.ticket.findMany({
        where: { customerId },
        include: { messages: { where: { internal: false }, select: { author: true, text: true, createdAt: true } } },
      }),
      db.prisma.outboxMessage.findMany({
        where: { customerId },
        select: { kind: true, status: true, sentAt: true, createdAt: true },
      }),
      // The chat's state is stored by chat key (`tg:<chat id>`), not always with the customer id.
      db.prisma.conversation.findMany({
        where: {
          OR: [{ customerId }, ...(customer.telegramChatId === null ? [] : [{ key: `tg:${customer.telegramChatId}` }])],
        },
        select: { data: true, updatedAt: true },
      }),
      db.prisma.auditLog.findMany({
        where: { entityType: "customer", entityId: String(customerId), action: { startsWith: "consent." } },
        select: { action: true, createdAt: true },
      }),
    ]);
  await audit(db, options.actor, "gdpr.export", customerId, options.now);
  return ok(
    json({
      exportedAt: options.now.toISOString(),
      customer: {
        externalId: customer.externalId,
        name: customer.name,
        email: customer.email,
        phone: customer.phone,
        locale: customer.locale,
        timeZone: customer.timeZone,
        attributes: customer.attributes,
        signedUpAt: customer.signedUpAt,
        marketingConsent: customer.marketingConsent,
        optedOutAt: customer.optedOutAt,
        telegram: {
          chatId: customer.telegramChatId,
          userId: customer.telegramUserId,
          linkedAt: customer.telegramLinkedAt,
        },
        createdAt: customer.createdAt,
        // Learned from when they answer and buy: the local hour marketing is sent at.
        sendHour: customer.sendHour
          ? { localHour: customer.sendHour.hour, learnedAt: customer.sendHour.computedAt }
          : null,
      },
      purchases,
      scores: scores.map((s) => scoreForPerson(s, options.locale ?? customer.locale ?? "en")),
      offers: offers.map((o) => ({
        code: o.code,
        status: o.status,
        issuedAt: o.issuedAt,
        expiresAt: o.expiresAt,
        offer: o.offer,
      })),
      redemptions,
      feedback,
      tickets: tickets.map((t) => ({
        reference: t.reference,
        status: t.status,
        source: t.source,
        createdAt: t.createdAt,
        resolvedAt: t.resolvedAt,
        csatScore: t.csatScore,
        messages: t.messages,
      })),
      messagesSent: messages,
      conversations,
      consentHistory: consentLog,
    }) as Record<string, unknown>,
  );
}

// One customer's rows, moved in one transaction; a busy embedded database can take a while.
const ERASE_TRANSACTION = { maxWait: 30_000, timeout: 60_000 };

/**
 * Erases a customer's personal data (GDPR Art. 17), keeping only anonymous aggregates.
 *
 * What statistics need (purchases and refunds, scores, offers and campaign assignments, outbox
 * rows) is moved onto a new customer row with a random key (`erased:<random>`) and no personal
 * field; the customer's own row is deleted, so nothing that named them (an old log line, an
 * audit row, a Slack post, the shop's customer number) leads to what is kept. Order and refund
 * numbers become random too (they lead back through the shop's records), and outbox keys lose
 * whatever their caller put in them. Conversations, link tokens and the learned send hour are deleted; feedback keeps
 * its scores without the customer or the free text; tickets keep their status without the
 * customer, their subject or the customer's words; staff events lose their preview and customer;
 * the audit trail loses the chat's id; the staff assistant's log loses their names, numbers and
 * the answers it gave with their data. Each of the customer's tickets raises a `ticket_erased`
 * staff event, so the Slack posts about it are edited (queued: it survives a crash or an outage).
 * One `gdpr.erase` audit row, under the erased customer's old id. The shop's customer number, the
 * e-mail and the phone go on the suppression list as keyed digests only (`suppression.ts`), so
 * importing the shop's file again does not bring them back.
 * @throws ErasureKeyError when ERASURE_KEY changed since the suppression list was built.
 * @returns the anonymous row's id (for the caller's tests and counts; nothing stores the pair).
 */
export async function eraseCustomer(
  db: Database,
  customerId: number,
  options: { now: Date; actor?: string; erasure?: ErasureSettings },
): Promise<Result<{ erased: true; anonymousId: number }, { type: "not_found" } | { type: "already_erased" }>> {
  const customer = await db.prisma.customer.findUnique({
    where: { id: customerId },
    select: {
      erasedAt: true,
      externalId: true,
      name: true,
      email: true,
      phone: true,
      telegramChatId: true,
      locale: true,
      timeZone: true,
      signedUpAt: true,
      createdAt: true,
    },
  });
  if (!customer) {
    const erased = await db.prisma.auditLog.count({
      where: { action: "gdpr.erase", entityType: "customer", entityId: String(customerId) },
    });
    return err({ type: erased > 0 ? "already_erased" : "not_found" });
  }
  if (customer.erasedAt) return err({ type: "already_erased" });
  const chatKey = customer.telegramChatId === null ? null : `tg:${customer.telegramChatId}`;
  const suppression = await suppressionListForErasure(db, options.erasure);
  const anonymousId = await db.prisma.$transaction(async (tx) => {
    const anonymous = await tx.customer.create({
      data: {
        externalId: `erased:${randomUUID()}`,
        // Coarse facts the aggregates use (tenure, language and time-zone breakdowns).
        locale: customer.locale,
        timeZone: customer.timeZone,
        signedUpAt: customer.signedUpAt,
        createdAt: customer.createdAt,
        marketingConsent: false,
        optedOutAt: options.now,
        erasedAt: options.now,
      },
      select: { id: true },
    });
    const to = anonymous.id;
    // Random keys for what the shop's records could lead back from (order and refund numbers).
    await tx.$executeRaw`
      UPDATE purchases SET customer_id = ${to}, external_id = 'erased:' || gen_random_uuid()::text
      WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`
      UPDATE refunds SET customer_id = ${to}, external_id = 'erased:' || gen_random_uuid()::text,
        order_external_id = NULL
      WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`UPDATE customer_purchase_stats SET customer_id = ${to} WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`UPDATE customer_purchase_stats_pending SET customer_id = ${to} WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`UPDATE scores SET customer_id = ${to} WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`UPDATE campaign_assignments SET customer_id = ${to} WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`UPDATE offer_issues SET customer_id = ${to} WHERE customer_id = ${customerId}`;
    await tx.$executeRaw`UPDATE redemptions SET customer_id = ${to} WHERE customer_id = ${customerId}`;
    // Outbox keys are whatever their caller made them (a chat id, a customer number): replaced.
    await tx.$executeRaw`
      UPDATE outbox_messages SET customer_id = ${to}, payload = '{}', idempotency_key = 'erased:' || id::text,
        status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END,
        skip_reason = CASE WHEN status = 'pending' THEN 'erased' ELSE skip_reason END
      WHERE customer_id = ${customerId}`;
    await tx.conversation.deleteMany({ where: { OR: [{ customerId }, ...(chatKey ? [{ key: chatKey }] : [])] } });
    await tx.linkToken.deleteMany({ where: { customerId } });
    await tx.customerSendHour.deleteMany({ where: { customerId } });
    await tx.feedback.updateMany({ where: { customerId }, data: { customerId: null, comment: null } });
    await tx.ticketMessage.updateMany({
      where: { ticket: { customerId }, author: "customer" },
      data: { text: "[erased]", authorRef: null, attachments: Prisma.DbNull },
    });
    // Staff alerts keep the ticket they point to, not what the customer wrote or who they are.
    await tx.$executeRaw`
      UPDATE staff_events SET payload = payload - 'preview' - 'customerId'
      WHERE payload ? 'customerId' AND payload->>'customerId' = ${String(customerId)}`;
    // The Slack posts about each ticket are edited by the desk (retried until Slack takes it).
    const tickets = await tx.ticket.findMany({ where: { customerId }, select: { id: true, reference: true } });
    await tx.staffEvent.createMany({
      data: tickets.map((ticket) => ({
        type: "ticket_erased",
        payload: { ticketId: ticket.id, reference: ticket.reference },
        createdAt: options.now,
      })),
    });
    await tx.ticket.updateMany({ where: { customerId }, data: { customerId: null, subject: null } });
    // The audit trail keeps what happened, not the chat it happened in.
    if (customer.telegramChatId !== null)
      await tx.auditLog.updateMany({
        where: { actor: `telegram:${customer.telegramChatId}` },
        data: { actor: "telegram:erased" },
      });
    // The staff assistant's log: answers for which the model was shown this customer keep the
    // question without the answer and tool results; their names and numbers leave every text.
    await tx.$executeRaw`
      UPDATE assistant_questions SET disclosed = disclosed - ${customer.externalId}, answer = NULL, tool_calls = '[]'
      WHERE disclosed ? ${customer.externalId}`;
    for (const value of [customer.externalId, customer.name, customer.email, customer.phone]) {
      if (!value || value.length < 3) continue;
      await tx.$executeRaw`
        UPDATE assistant_questions SET question = replace(question, ${value}, '[erased]'),
          answer = replace(answer, ${value}, '[erased]'),
          tool_calls = CASE WHEN ${/["\\]/.test(value)} THEN tool_calls
            ELSE replace(tool_calls::text, ${value}, '[erased]')::jsonb END
        WHERE strpos(question, ${value}) > 0 OR strpos(coalesce(answer, ''), ${value}) > 0
          OR strpos(tool_calls::text, ${value}) > 0`;
    }
    await tx.customer.delete({ where: { id: customerId } });
    await suppress(tx, suppression, customer, options.now);
    await tx.auditLog.create({
      data: {
        // An erasure the customer asked for from their chat must not record that chat's id.
        actor:
          options.actor === `telegram:${customer.telegramChatId}` ? "telegram:erased" : (options.actor ?? "system"),
        action: "gdpr.erase",
        entityType: "customer",
        entityId: String(customerId),
        createdAt: options.now,
      },
    });
    return to;
  }, ERASE_TRANSACTION);
  return ok({ erased: true, anonymousId });
}
