// Tickets: a complaint, a detractor's answer, or a question becomes a ticket with a reference the
// customer sees (T-1042). Staff reply from Slack through `addStaffReply` (internal notes never
// reach the customer); a public reply is delivered to the customer's chat at once through the
// outbox. Resolving asks the customer for a CSAT rating. Channel-agnostic: the caller passes
// the `MessageChannel`.
import type { Database } from "../db/client";
import type { MessageChannel } from "../messaging/channel";
import { sendNow, sqlTimestamp, type SendNowOutcome } from "../messaging/outbox";
import { err, ok, type Result } from "../result";
import { preview, raiseStaffEvent } from "./staff-events";

export type TicketSource = "complaint" | "nps_detractor" | "message";

export interface OpenedTicket {
  id: number;
  reference: string;
}

/** The reference shown to customers for a ticket id. */
export function ticketReference(id: number): string {
  return `T-${1000 + id}`;
}

/**
 * Opens a ticket with the customer's first message. Raises a `ticket_opened` staff event unless
 * `raiseEvent` is false (the NPS flow raises its own `nps_detractor` event instead).
 */
export async function openTicket(
  db: Database,
  input: {
    customerId: number;
    source: TicketSource;
    text: string;
    authorRef?: string;
    priority?: string;
    now: Date;
    raiseEvent?: boolean;
  },
): Promise<OpenedTicket> {
  const subject = preview(input.text).slice(0, 120);
  const priority = input.priority ?? (input.source === "nps_detractor" ? "high" : "normal");
  const at = sqlTimestamp(input.now);
  // One statement (no transaction): under load an interactive transaction would hold the
  // embedded database's only connection while other chats wait.
  const [row] = await db.prisma.$queryRaw<{ id: number }[]>`
    WITH next AS (SELECT nextval(pg_get_serial_sequence('tickets', 'id'))::int AS id),
    ticket AS (
      INSERT INTO tickets (id, reference, customer_id, source, subject, priority, created_at, updated_at)
      SELECT id, 'T-' || (1000 + id), ${input.customerId}, ${input.source}, ${subject}, ${priority}, ${at}, ${at} FROM next
      RETURNING id
    )
    INSERT INTO ticket_messages (ticket_id, author, author_ref, text, created_at)
    SELECT id, 'customer', ${input.authorRef ?? null}, ${input.text}, ${at} FROM ticket
    RETURNING ticket_id AS id`;
  const id = row!.id;
  const reference = ticketReference(id);
  if (input.raiseEvent !== false) {
    await raiseStaffEvent(
      db,
      "ticket_opened",
      { ticketId: id, reference, customerId: input.customerId, source: input.source, preview: preview(input.text) },
      input.now,
    );
  }
  return { id, reference };
}

/** The customer's newest ticket that is not resolved, if any. */
export async function findOpenTicket(db: Database, customerId: number): Promise<OpenedTicket | null> {
  return db.prisma.ticket.findFirst({
    where: { customerId, status: { in: ["open", "pending"] } },
    orderBy: { createdAt: "desc" },
    select: { id: true, reference: true },
  });
}

/** Adds the customer's further message to their ticket and tells staff (`ticket_message`). */
export async function addCustomerMessage(
  db: Database,
  input: { ticketId: number; customerId: number; text: string; authorRef?: string; now: Date },
): Promise<Result<OpenedTicket & { messageId: number }, { type: "not_found" } | { type: "resolved" }>> {
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: input.ticketId },
    select: { id: true, reference: true, customerId: true, status: true },
  });
  if (!ticket || ticket.customerId !== input.customerId) return err({ type: "not_found" });
  if (ticket.status === "resolved") return err({ type: "resolved" });
  const message = await db.prisma.ticketMessage.create({
    data: {
      ticketId: ticket.id,
      author: "customer",
      authorRef: input.authorRef ?? null,
      text: input.text,
      createdAt: input.now,
    },
  });
  await db.prisma.ticket.update({ where: { id: ticket.id }, data: { status: "open", updatedAt: input.now } });
  await raiseStaffEvent(
    db,
    "ticket_message",
    {
      ticketId: ticket.id,
      reference: ticket.reference,
      customerId: input.customerId,
      messageId: message.id,
      preview: preview(input.text),
    },
    input.now,
  );
  return ok({ id: ticket.id, reference: ticket.reference, messageId: message.id });
}

export type StaffReplyError =
  { type: "not_found" } | { type: "empty" } | { type: "too_long"; length: number; limit: number };

/** The most characters one message to a customer may hold (Telegram's limit for a text message). */
export const CUSTOMER_MESSAGE_MAX_CHARS = 4096;

/**
 * Records a staff reply. Internal notes stay in the ticket; a public reply sets the first
 * response time (once) and is delivered to the customer's chat now, through the outbox
 * (idempotency key `ticket:<id>:reply:<messageId>`).
 * @returns the message id and the delivery outcome (`null` for internal notes).
 */
export async function addStaffReply(
  db: Database,
  ticketId: number,
  reply: { text: string; staffId: string; internal: boolean; slackTs?: string },
  options: { channel: MessageChannel; now: Date; defaultLocale?: string },
): Promise<
  Result<{ messageId: number; delivery: SendNowOutcome | null; deliveryError: string | null }, StaffReplyError>
> {
  const text = reply.text.trim();
  if (!text) return err({ type: "empty" });
  // Refused before anything is stored or sent: the channel would reject it anyway.
  if (!reply.internal && [...text].length > CUSTOMER_MESSAGE_MAX_CHARS)
    return err({ type: "too_long", length: [...text].length, limit: CUSTOMER_MESSAGE_MAX_CHARS });
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: ticketId },
    select: { id: true, reference: true, customerId: true, firstResponseAt: true, status: true },
  });
  if (!ticket) return err({ type: "not_found" });
  const message = await db.prisma.ticketMessage.create({
    data: {
      ticketId,
      author: "staff",
      authorRef: reply.staffId,
      text,
      internal: reply.internal,
      slackTs: reply.slackTs ?? null,
      createdAt: options.now,
    },
  });
  if (reply.internal) return ok({ messageId: message.id, delivery: null, deliveryError: null });
  const idempotencyKey = `ticket:${ticketId}:reply:${message.id}`;
  const delivery = await sendNow(
    db,
    options.channel,
    {
      idempotencyKey,
      customerId: ticket.customerId,
      kind: "ticket_reply",
      payload: { ticketId, reference: ticket.reference, text },
    },
    { now: options.now, defaultLocale: options.defaultLocale },
  );
  // A ticket counts as answered only once a reply reached the customer.
  if (delivery === "sent" || delivery === "duplicate") {
    await db.prisma.ticket.update({
      where: { id: ticketId },
      data: {
        firstResponseAt: ticket.firstResponseAt ?? options.now,
        status: ticket.status === "resolved" ? "resolved" : "pending",
        updatedAt: options.now,
      },
    });
    return ok({ messageId: message.id, delivery, deliveryError: null });
  }
  const row = await db.prisma.outboxMessage.findUnique({ where: { idempotencyKey }, select: { lastError: true } });
  return ok({ messageId: message.id, delivery, deliveryError: row?.lastError ?? null });
}

/**
 * Resolves a ticket and asks the customer for a CSAT rating (outbox kind `csat_request`,
 * key `ticket:<id>:csat`).
 * @returns the first response time in ms (null if staff never answered publicly) and the delivery outcome.
 */
export async function resolveTicket(
  db: Database,
  ticketId: number,
  options: { channel: MessageChannel; now: Date; staffId?: string; defaultLocale?: string },
): Promise<
  Result<
    { firstResponseMs: number | null; csat: SendNowOutcome | null },
    { type: "not_found" } | { type: "already_resolved" }
  >
> {
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: ticketId },
    select: { id: true, reference: true, customerId: true, status: true, createdAt: true, firstResponseAt: true },
  });
  if (!ticket) return err({ type: "not_found" });
  const updated = await db.prisma.ticket.updateMany({
    where: { id: ticketId, status: { not: "resolved" } },
    data: { status: "resolved", resolvedAt: options.now, updatedAt: options.now },
  });
  if (updated.count === 0) return err({ type: "already_resolved" });
  await db.prisma.auditLog.create({
    data: {
      actor: options.staffId ? `slack:${options.staffId}` : "system",
      action: "ticket.resolved",
      entityType: "ticket",
      entityId: String(ticketId),
      createdAt: options.now,
    },
  });
  const firstResponseMs = ticket.firstResponseAt ? ticket.firstResponseAt.getTime() - ticket.createdAt.getTime() : null;
  const csat = ticket.customerId
    ? await sendNow(
        db,
        options.channel,
        {
          idempotencyKey: `ticket:${ticketId}:csat`,
          customerId: ticket.customerId,
          kind: "csat_request",
          payload: { ticketId, reference: ticket.reference },
        },
        { now: options.now, defaultLocale: options.defaultLocale },
      )
    : null;
  return ok({ firstResponseMs, csat });
}
