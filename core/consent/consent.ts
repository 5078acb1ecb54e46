// Consent and data rights. Opting out stops offers and surveys at once (the contact policy reads
// `marketing_consent`); answers to the customer's own questions continue. Export gives a JSON
// document of everything we hold about a person; erasure removes personal data and keeps only
// anonymous aggregates. Every change leaves an `audit_log` row.
import { MARKETING_KINDS } from "../messaging/outbox";
import { readReasons } from "../analytics/reasons";
import { defaultTranslator } from "../messaging/locales";
import { Prisma, type Database } from "../db/client";
import { err, ok, type Result } from "../result";

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

/**
 * Erases a customer's personal data (GDPR Art. 17): name, e-mail, phone, Telegram ids and
 * attributes become null/empty, `erased_at` is set; conversations, link tokens and the learned
 * send hour are deleted;
 * feedback keeps its scores without the customer or the free text; tickets lose their messages'
 * text; purchases keep amounts and dates for anonymous aggregates. One `gdpr.erase` audit row.
 */
export async function eraseCustomer(
  db: Database,
  customerId: number,
  options: { now: Date; actor?: string },
): Promise<Result<{ erased: true }, { type: "not_found" } | { type: "already_erased" }>> {
  const customer = await db.prisma.customer.findUnique({
    where: { id: customerId },
    select: { erasedAt: true, telegramChatId: true },
  });
  if (!customer) return err({ type: "not_found" });
  if (customer.erasedAt) return err({ type: "already_erased" });
  const chatKey = customer.telegramChatId === null ? null : `tg:${customer.telegramChatId}`;
  await db.prisma.$transaction([
    db.prisma.customer.update({
      where: { id: customerId },
      data: {
        name: null,
        email: null,
        phone: null,
        attributes: {},
        telegramChatId: null,
        telegramUserId: null,
        telegramLinkedAt: null,
        telegramLinkedBy: null,
        marketingConsent: false,
        optedOutAt: options.now,
        erasedAt: options.now,
      },
    }),
    db.prisma.conversation.deleteMany({ where: { OR: [{ customerId }, ...(chatKey ? [{ key: chatKey }] : [])] } }),
    db.prisma.linkToken.deleteMany({ where: { customerId } }),
    db.prisma.customerSendHour.deleteMany({ where: { customerId } }),
    db.prisma.feedback.updateMany({ where: { customerId }, data: { customerId: null, comment: null } }),
    db.prisma.ticketMessage.updateMany({
      where: { ticket: { customerId }, author: "customer" },
      data: { text: "[erased]", authorRef: null, attachments: Prisma.DbNull },
    }),
    // Staff alerts keep the ticket they point to, not what the customer wrote or who they are.
    db.prisma.$executeRaw`
      UPDATE staff_events SET payload = payload - 'preview' - 'customerId'
      WHERE payload ? 'customerId' AND payload->>'customerId' = ${String(customerId)}`,
    // The audit trail keeps what happened, not the chat it happened in.
    ...(customer.telegramChatId === null
      ? []
      : [
          db.prisma.auditLog.updateMany({
            where: { actor: `telegram:${customer.telegramChatId}` },
            data: { actor: "telegram:erased" },
          }),
        ]),
    db.prisma.ticket.updateMany({ where: { customerId }, data: { customerId: null, subject: null } }),
    db.prisma.outboxMessage.updateMany({
      where: { customerId, status: "pending" },
      data: { status: "skipped", skipReason: "erased" },
    }),
    db.prisma.outboxMessage.updateMany({ where: { customerId }, data: { payload: {} } }),
    db.prisma.auditLog.create({
      data: {
        // An erasure the customer asked for from their chat must not record that chat's id.
        actor:
          options.actor === `telegram:${customer.telegramChatId}` ? "telegram:erased" : (options.actor ?? "system"),
        action: "gdpr.erase",
        entityType: "customer",
        entityId: String(customerId),
        createdAt: options.now,
      },
    }),
  ]);
  return ok({ erased: true });
}
