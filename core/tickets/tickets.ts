// Tickets: a complaint, a detractor's answer, or a question becomes a ticket with a reference the
// customer sees (T-1042). Staff reply from Slack through `addStaffReply` (internal notes never
// reach the customer); a public reply is delivered to the customer's chat at once through the
// outbox. Resolving asks the customer for a CSAT rating. Channel-agnostic: the caller passes
// the `MessageChannel`.
import { Prisma, type Database } from "../db/client";
import type { MessageChannel, RenderedDocument } from "../messaging/channel";
import { deliverNow, sendNow, sqlTimestamp, type SendNowOutcome } from "../messaging/outbox";
import { err, ok, type Result } from "../result";
import { preview } from "./staff-events";

export type TicketSource = "complaint" | "nps_detractor" | "message";

export interface OpenedTicket {
  id: number;
  reference: string;
}

/** Media a customer sent with (or instead of) a text: Telegram's file reference and its kind. */
export interface Attachment {
  kind: "photo" | "document" | "voice" | "video" | "video_note" | "audio";
  fileId: string;
}

/** The reference shown to customers for a ticket id. */
export function ticketReference(id: number): string {
  return `T-${1000 + id}`;
}

/**
 * The marker of the inbound update a write handles (`processed_updates`), written in the same
 * statement as the write with what the write did (`UpdateOutcome`): a redelivered update finds it
 * and writes nothing again (its replies are rebuilt from the outcome), and a crash before the
 * statement leaves no outcome, so the redelivery does the work.
 */
export interface UpdateMarker {
  source: string;
  updateId: string;
}

/** What an update's write did, kept with its marker until the update is finished. */
export type UpdateOutcome =
  | { type: "ticket_opened"; ticketId: number; reference: string; at: string }
  | { type: "ticket_message"; ticketId: number; reference: string; at: string }
  | { type: "nps_comment"; ticketId: number | null; reference: string | null; at: string };

/** An NPS follow-up answer stored on its feedback row in the same statement as its ticket message. */
export interface NpsCommentWrite {
  feedbackId: number;
  comment: string;
  themes: string[];
}

/**
 * A CTE named `nps` that stores `write` on its feedback row (once: never over an earlier comment),
 * linking the ticket `ticketId` (a SQL expression over `from`), for each row of `from`.
 */
function npsCommentCte(write: NpsCommentWrite | undefined, ticketId: Prisma.Sql, from: Prisma.Sql): Prisma.Sql {
  if (!write) return Prisma.sql`nps AS (SELECT 1)`;
  return Prisma.sql`nps AS (
    UPDATE feedback SET comment = ${write.comment}, themes = ${write.themes}::text[], ticket_id = (SELECT ${ticketId} FROM ${from} LIMIT 1)
    WHERE id = ${write.feedbackId} AND comment IS NULL AND EXISTS (SELECT 1 FROM ${from})
    RETURNING id)`;
}

/**
 * A CTE named `marker` that records the update's `outcome` (a jsonb expression over the rows of
 * `from`) and yields `returning` (over the marker row) once it is written; no row when the update
 * already has an outcome or was handled. Without a marker it yields `passThrough` over `from`.
 */
export function markerCte(
  marker: UpdateMarker | undefined,
  sql: { outcome: Prisma.Sql; from: Prisma.Sql; returning: Prisma.Sql; passThrough: Prisma.Sql },
): Prisma.Sql {
  return marker
    ? Prisma.sql`marker AS (
        INSERT INTO processed_updates (source, update_id, processed_at, outcome)
        SELECT ${marker.source}, ${marker.updateId}, now(), ${sql.outcome} FROM ${sql.from}
        ON CONFLICT (source, update_id) DO UPDATE SET outcome = EXCLUDED.outcome
        WHERE processed_updates.outcome IS NULL AND processed_updates.handled_at IS NULL
        RETURNING ${sql.returning})`
    : Prisma.sql`marker AS (SELECT ${sql.passThrough} FROM ${sql.from})`;
}

/** What a customer's message adds to a ticket: the text (a caption, or empty for bare media) and media. */
function messageText(text: string, attachments: Attachment[] | undefined): string {
  if (text.trim() || !attachments?.length) return text;
  return attachments.map((a) => `[${a.kind}]`).join(" ");
}

export interface OpenTicketInput {
  customerId: number;
  source: TicketSource;
  text: string;
  attachments?: Attachment[];
  authorRef?: string;
  priority?: string;
  themes?: string[];
  /** A detractor's ticket: the staff event is `nps_detractor` with these details. */
  detractor?: { score: number; feedbackId: number };
  /** The detractor's comment this ticket opens with, stored on its feedback row. */
  npsComment?: NpsCommentWrite;
  marker?: UpdateMarker;
  now: Date;
}

/**
 * Opens a ticket with the customer's first message and, in the same statement, its staff event
 * (`ticket_opened`, or `nps_detractor` with `detractor` details) and, for a complaint, a feedback
 * row of kind `complaint` with its themes: a crash can never leave a ticket staff are not told of.
 * @returns null when `marker` shows the update was already handled.
 */
export async function openTicket(
  db: Database,
  input: OpenTicketInput & { marker: UpdateMarker },
): Promise<OpenedTicket | null>;
export async function openTicket(db: Database, input: OpenTicketInput & { marker?: undefined }): Promise<OpenedTicket>;
export async function openTicket(db: Database, input: OpenTicketInput): Promise<OpenedTicket | null>;
export async function openTicket(db: Database, input: OpenTicketInput): Promise<OpenedTicket | null> {
  const text = messageText(input.text, input.attachments);
  const subject = preview(text).slice(0, 120) || null;
  const priority = input.priority ?? (input.source === "nps_detractor" ? "high" : "normal");
  const at = sqlTimestamp(input.now);
  const attachments = input.attachments?.length ? JSON.stringify(input.attachments) : null;
  const themes = input.themes ?? [];
  const eventType = input.detractor ? "nps_detractor" : "ticket_opened";
  const details = input.detractor
    ? { score: input.detractor.score, themes, feedbackId: input.detractor.feedbackId }
    : { source: input.source };
  const complaint = input.source === "complaint";
  // One statement (no interactive transaction): under load an interactive transaction would hold
  // the embedded database's only connection while other chats wait.
  const rows = await db.prisma.$queryRaw<{ id: number }[]>`
    WITH next AS (SELECT nextval(pg_get_serial_sequence('tickets', 'id'))::int AS id),
    ${markerCte(input.marker, {
      outcome: Prisma.sql`jsonb_build_object('type', ${input.npsComment ? "nps_comment" : "ticket_opened"}::text, 'ticketId', id,
        'reference', 'T-' || (1000 + id), 'at', ${input.now.toISOString()}::text)`,
      from: Prisma.sql`next`,
      returning: Prisma.sql`(outcome->>'ticketId')::int AS id`,
      passThrough: Prisma.sql`id`,
    })},
    ticket AS (
      INSERT INTO tickets (id, reference, customer_id, source, subject, priority, created_at, updated_at)
      SELECT id, 'T-' || (1000 + id), ${input.customerId}, ${input.source}, ${subject}, ${priority}, ${at}, ${at} FROM marker
      RETURNING id, reference
    ),
    message AS (
      INSERT INTO ticket_messages (ticket_id, author, author_ref, text, attachments, created_at)
      SELECT id, 'customer', ${input.authorRef ?? null}, ${text}, ${attachments}::jsonb, ${at} FROM ticket
      RETURNING id
    ),
    event AS (
      INSERT INTO staff_events (type, payload, created_at)
      SELECT ${eventType}, jsonb_build_object('ticketId', id, 'reference', reference, 'customerId', ${input.customerId}::int,
        'preview', ${preview(text)}::text) || ${JSON.stringify(details)}::jsonb, ${at}
      FROM ticket
      RETURNING id
    ),
    complaint AS (
      INSERT INTO feedback (customer_id, kind, comment, themes, ticket_id, source, created_at)
      SELECT ${input.customerId}, 'complaint', ${text}, ${themes}::text[], id, 'telegram', ${at}
      FROM ticket WHERE ${complaint}
      RETURNING id
    ),
    ${npsCommentCte(input.npsComment, Prisma.sql`id`, Prisma.sql`ticket`)}
    SELECT id FROM ticket`;
  const row = rows[0];
  if (row) return { id: row.id, reference: ticketReference(row.id) };
  if (input.marker) return null;
  throw new Error("ticket insert returned no row");
}

/** The customer's newest ticket that is not resolved, if any. */
export async function findOpenTicket(db: Database, customerId: number): Promise<OpenedTicket | null> {
  return db.prisma.ticket.findFirst({
    where: { customerId, status: { in: ["open", "pending"] } },
    orderBy: { createdAt: "desc" },
    select: { id: true, reference: true },
  });
}

export type AddMessageError = { type: "not_found" } | { type: "resolved" } | { type: "duplicate" };

/**
 * Adds the customer's further message (text, media or both) to their ticket and, in the same
 * statement, tells staff (`ticket_message`) and reopens a pending ticket.
 */
export async function addCustomerMessage(
  db: Database,
  input: {
    ticketId: number;
    customerId: number;
    text: string;
    attachments?: Attachment[];
    authorRef?: string;
    /** A detractor's NPS comment joining their ticket, stored on its feedback row. */
    npsComment?: NpsCommentWrite;
    marker?: UpdateMarker;
    now: Date;
  },
): Promise<Result<OpenedTicket & { messageId: number }, AddMessageError>> {
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: input.ticketId },
    select: { id: true, reference: true, customerId: true, status: true },
  });
  if (!ticket || ticket.customerId !== input.customerId) return err({ type: "not_found" });
  if (ticket.status === "resolved") return err({ type: "resolved" });
  const text = messageText(input.text, input.attachments);
  const at = sqlTimestamp(input.now);
  const attachments = input.attachments?.length ? JSON.stringify(input.attachments) : null;
  const rows = await db.prisma.$queryRaw<{ id: number }[]>`
    WITH ${markerCte(input.marker, {
      outcome: Prisma.sql`jsonb_build_object('type', ${input.npsComment ? "nps_comment" : "ticket_message"}::text, 'ticketId', ${ticket.id}::int,
        'reference', ${ticket.reference}::text, 'at', ${input.now.toISOString()}::text)`,
      from: Prisma.sql`(SELECT 1) AS one`,
      returning: Prisma.sql`1 AS ok`,
      passThrough: Prisma.sql`1 AS ok`,
    })},
    message AS (
      INSERT INTO ticket_messages (ticket_id, author, author_ref, text, attachments, created_at)
      SELECT ${ticket.id}, 'customer', ${input.authorRef ?? null}, ${text}, ${attachments}::jsonb, ${at} FROM marker
      RETURNING id
    ),
    reopened AS (
      UPDATE tickets SET status = 'open', updated_at = ${at} WHERE id = ${ticket.id} AND EXISTS (SELECT 1 FROM message)
      RETURNING id
    ),
    event AS (
      INSERT INTO staff_events (type, payload, created_at)
      SELECT 'ticket_message', jsonb_build_object('ticketId', ${ticket.id}::int, 'reference', ${ticket.reference}::text,
        'customerId', ${input.customerId}::int, 'messageId', id, 'preview', ${preview(text)}::text,
        'attachments', ${input.attachments?.length ?? 0}::int), ${at}
      FROM message
      RETURNING id
    ),
    ${npsCommentCte(input.npsComment, Prisma.sql`${ticket.id}::int`, Prisma.sql`message`)}
    SELECT id FROM message`;
  const row = rows[0];
  if (!row) return err({ type: "duplicate" });
  return ok({ id: ticket.id, reference: ticket.reference, messageId: row.id });
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
  reply: {
    text: string;
    staffId: string;
    internal: boolean;
    slackTs?: string;
    /** The reply as Telegram HTML (formatting from Slack); `text` is its plain form, checked and stored. */
    html?: string;
    /** A file for the customer; its message holds `[file: name]` as text. */
    document?: RenderedDocument;
  },
  options: { channel: MessageChannel; now: Date; defaultLocale?: string },
): Promise<
  Result<{ messageId: number; delivery: SendNowOutcome | null; deliveryError: string | null }, StaffReplyError>
> {
  const text = reply.document ? `[file: ${reply.document.fileName}]` : reply.text.trim();
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
  const idempotencyKey = replyKey(ticketId, message.id);
  const delivery = await sendNow(
    db,
    options.channel,
    {
      idempotencyKey,
      customerId: ticket.customerId,
      kind: "ticket_reply",
      payload: {
        ticketId,
        reference: ticket.reference,
        text,
        ...(reply.html && !reply.document ? { html: reply.html } : {}),
        ...(reply.document ? { document: reply.document } : {}),
      },
    },
    { now: options.now, defaultLocale: options.defaultLocale },
  );
  return ok({ messageId: message.id, ...(await settleReply(db, ticket, idempotencyKey, delivery, options.now)) });
}

/** The outbox key of a staff reply: one message, delivered at most once. */
function replyKey(ticketId: number, messageId: number): string {
  return `ticket:${ticketId}:reply:${messageId}`;
}

/**
 * After a reply's delivery: a ticket counts as answered only once a reply reached the customer;
 * otherwise the outbox's reason is returned for staff to read.
 */
async function settleReply(
  db: Database,
  ticket: { id: number; firstResponseAt: Date | null; status: string },
  idempotencyKey: string,
  delivery: SendNowOutcome,
  now: Date,
): Promise<{ delivery: SendNowOutcome; deliveryError: string | null }> {
  if (delivery === "sent" || delivery === "duplicate") {
    await db.prisma.ticket.update({
      where: { id: ticket.id },
      data: {
        firstResponseAt: ticket.firstResponseAt ?? now,
        status: ticket.status === "resolved" ? "resolved" : "pending",
        updatedAt: now,
      },
    });
    return { delivery, deliveryError: null };
  }
  const row = await db.prisma.outboxMessage.findUnique({ where: { idempotencyKey }, select: { lastError: true } });
  return { delivery, deliveryError: row?.lastError ?? null };
}

export type EditReplyError =
  | { type: "not_found" }
  | { type: "empty" }
  | { type: "too_long"; length: number; limit: number }
  /** The reply is on the wire right now: nothing can be changed until Telegram answered. */
  | { type: "in_flight" }
  /** The reply never reached the customer and never will (`unreachable`, `skipped`). */
  | { type: "not_delivered"; status: string };

/** What an edit did: the customer's message was edited, the reply was changed before sending, or a note was. */
export type EditReplyOutcome =
  | { type: "edited"; delivery: SendNowOutcome; deliveryError: string | null }
  | { type: "changed_before_sending"; status: string }
  | { type: "note_changed" };

/**
 * A staff reply edited in Slack (found by its Slack `ts`). A delivered reply is edited in the
 * customer's chat through the outbox (kind `ticket_reply` with `replaces`, key
 * `ticket:<id>:reply:<messageId>:edit:<editKey>`, so a redelivered edit is applied once); a reply
 * not delivered yet (pending, or failed and waiting for Retry) has its outbox payload changed, so
 * what will be sent is the new text; an internal note is changed in the ticket only. The stored
 * message text follows the edit once it is applied.
 */
export async function editStaffReply(
  db: Database,
  edit: {
    slackTs: string;
    /** Unique per edit (Slack's `edited.ts`): the edit's idempotency. */
    editKey: string;
    text: string;
    html?: string;
    staffId: string;
  },
  options: { channel: MessageChannel; now: Date; defaultLocale?: string },
): Promise<Result<{ ticketId: number; messageId: number; outcome: EditReplyOutcome }, EditReplyError>> {
  const text = edit.text.trim();
  if (!text) return err({ type: "empty" });
  const message = await db.prisma.ticketMessage.findFirst({
    where: { slackTs: edit.slackTs, author: "staff" },
    orderBy: { id: "asc" },
    select: { id: true, ticketId: true, internal: true, ticket: { select: { reference: true, customerId: true } } },
  });
  if (!message) return err({ type: "not_found" });
  const done = (outcome: EditReplyOutcome) => ok({ ticketId: message.ticketId, messageId: message.id, outcome });
  const audit = (state: string) =>
    db.prisma.auditLog.create({
      data: {
        actor: `slack:${edit.staffId}`,
        action: "ticket.reply_edited",
        entityType: "ticket",
        entityId: String(message.ticketId),
        details: { messageId: message.id, state },
        createdAt: options.now,
      },
    });
  if (message.internal) {
    await db.prisma.ticketMessage.update({ where: { id: message.id }, data: { text } });
    return done({ type: "note_changed" });
  }
  if ([...text].length > CUSTOMER_MESSAGE_MAX_CHARS)
    return err({ type: "too_long", length: [...text].length, limit: CUSTOMER_MESSAGE_MAX_CHARS });
  const key = replyKey(message.ticketId, message.id);
  const changes = JSON.stringify({ text, ...(edit.html ? { html: edit.html } : {}) });
  // Not sent yet: what will be sent is the new text (the html key goes when the edit has none).
  const changed = await db.prisma.$queryRaw<{ status: string }[]>`
    UPDATE outbox_messages SET payload = (payload - 'html') || ${changes}::jsonb
    WHERE idempotency_key = ${key} AND status IN ('pending', 'failed') AND payload->'document' IS NULL
    RETURNING status`;
  if (changed[0]) {
    await db.prisma.ticketMessage.update({ where: { id: message.id }, data: { text } });
    await audit(changed[0].status);
    return done({ type: "changed_before_sending", status: changed[0].status });
  }
  const row = await db.prisma.outboxMessage.findUnique({
    where: { idempotencyKey: key },
    select: { status: true, providerId: true, payload: true },
  });
  if (!row) return err({ type: "not_found" });
  if (row.status === "claimed" || row.status === "sending") return err({ type: "in_flight" });
  if (row.status !== "sent" || !row.providerId || (row.payload as { document?: unknown } | null)?.document)
    return err({ type: "not_delivered", status: row.status });
  const editKey = `${key}:edit:${edit.editKey}`;
  const delivery = await sendNow(
    db,
    options.channel,
    {
      idempotencyKey: editKey,
      customerId: message.ticket.customerId,
      kind: "ticket_reply",
      payload: {
        ticketId: message.ticketId,
        reference: message.ticket.reference,
        text,
        ...(edit.html ? { html: edit.html } : {}),
        replaces: row.providerId,
      },
    },
    { now: options.now, defaultLocale: options.defaultLocale },
  );
  let deliveryError: string | null = null;
  if (delivery === "sent" || delivery === "duplicate") {
    await db.prisma.ticketMessage.update({ where: { id: message.id }, data: { text } });
    await audit("sent");
  } else
    deliveryError =
      (await db.prisma.outboxMessage.findUnique({ where: { idempotencyKey: editKey }, select: { lastError: true } }))
        ?.lastError ?? null;
  return done({ type: "edited", delivery, deliveryError });
}

export type RetryReplyError = { type: "not_found" } | { type: "not_failed"; status: string };

/**
 * Sends a staff reply again after Telegram refused it (staff pressed Retry): the failed outbox
 * message goes back to pending and is delivered now, under the same key, so it can never reach
 * the customer twice. Only a `failed` reply can be retried.
 */
export async function retryStaffReply(
  db: Database,
  ticketId: number,
  messageId: number,
  options: { channel: MessageChannel; now: Date; defaultLocale?: string },
): Promise<Result<{ delivery: SendNowOutcome; deliveryError: string | null }, RetryReplyError>> {
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: ticketId },
    select: { id: true, firstResponseAt: true, status: true },
  });
  if (!ticket) return err({ type: "not_found" });
  const key = replyKey(ticketId, messageId);
  const reset = await db.prisma.$executeRaw`
    UPDATE outbox_messages
    SET status = 'pending', last_error = NULL, not_before = ${sqlTimestamp(new Date(options.now.getTime() + 60_000))}
    WHERE idempotency_key = ${key} AND status = 'failed'`;
  if (reset === 0) {
    const row = await db.prisma.outboxMessage.findUnique({ where: { idempotencyKey: key }, select: { status: true } });
    return row ? err({ type: "not_failed", status: row.status }) : err({ type: "not_found" });
  }
  const delivery = await deliverNow(db, options.channel, key, {
    now: options.now,
    defaultLocale: options.defaultLocale,
  });
  return ok(await settleReply(db, ticket, key, delivery, options.now));
}

/**
 * Resolves a ticket and asks the customer for a CSAT rating (outbox kind `csat_request`,
 * key `ticket:<id>:csat`).
 * @returns the first response time in ms (null if staff never answered publicly) and the delivery outcome.
 */
export async function resolveTicket(
  db: Database,
  ticketId: number,
  options: { channel: MessageChannel; now: Date; staffId?: string; actor?: string; defaultLocale?: string },
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
      actor: options.actor ?? (options.staffId ? `slack:${options.staffId}` : "system"),
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
