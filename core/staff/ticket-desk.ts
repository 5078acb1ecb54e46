// The staff side of tickets: consuming `staff_events`, remembering where a ticket was posted
// in Slack, assignment, and the card staff see. Replies and resolution belong to core/tickets.
import { sqlTimestamp } from "../messaging/outbox";
import type { Database } from "../db/client";
import { latestScoreRuns } from "./score-runs";

export interface StaffEventRow {
  id: number;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** The staff events the Slack desk posts (see core/tickets/staff-events.ts). */
export const STAFF_ALERT_TYPES = ["ticket_opened", "nps_detractor", "ticket_message", "csat_received", "ticket_erased"];

/** How long a poster holds a claimed staff event before another poster may take it. */
export const STAFF_EVENT_LEASE_MS = 60_000;

/** The wait before a failed staff event is tried again: 5 s, 10 s, 20 s ... at most 15 minutes. */
export function staffEventRetryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 15 * 60_000);
}

/**
 * Claims up to `limit` staff events of the given types that are not done, not held by another
 * poster and not backing off, oldest first, for `leaseMs` (SKIP LOCKED, so two app instances
 * never take the same one). An event stays undone until `completeStaffEvent`: a poster that dies
 * after claiming loses nothing, the next poster takes the event once the lease has passed.
 */
export async function claimStaffEvents(
  db: Database,
  options: { types: string[]; limit: number; now: Date; leaseMs?: number },
): Promise<StaffEventRow[]> {
  const until = new Date(options.now.getTime() + (options.leaseMs ?? STAFF_EVENT_LEASE_MS));
  const rows = await db.prisma.$queryRaw<{ id: number; type: string; payload: unknown; created_at: Date }[]>`
    UPDATE staff_events SET claimed_until = ${sqlTimestamp(until)}, attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM staff_events
      WHERE processed_at IS NULL AND type = ANY(${options.types}::text[])
        AND (claimed_until IS NULL OR claimed_until <= ${sqlTimestamp(options.now)})
        AND (next_attempt_at IS NULL OR next_attempt_at <= ${sqlTimestamp(options.now)})
      ORDER BY id LIMIT ${options.limit} FOR UPDATE SKIP LOCKED)
    RETURNING id, type, payload, created_at`;
  return rows
    .map((r) => ({
      id: r.id,
      type: r.type,
      payload: (r.payload ?? {}) as Record<string, unknown>,
      createdAt: r.created_at,
    }))
    .sort((a, b) => a.id - b.id);
}

/** Marks a claimed event done: call only after its post reached Slack. */
export async function completeStaffEvent(db: Database, eventId: number, now: Date): Promise<void> {
  await db.prisma.$executeRaw`
    UPDATE staff_events SET processed_at = ${sqlTimestamp(now)}, claimed_until = NULL, last_error = NULL
    WHERE id = ${eventId}`;
}

/**
 * Gives a claimed event back after a failed post; it is tried again after a backoff that grows
 * with its attempts. Returns when that will be.
 */
export async function failStaffEvent(
  db: Database,
  eventId: number,
  options: { now: Date; error: string },
): Promise<Date> {
  const rows = await db.prisma.$queryRaw<{ attempts: number }[]>`
    SELECT attempts FROM staff_events WHERE id = ${eventId}`;
  const retryAt = new Date(options.now.getTime() + staffEventRetryDelayMs(rows[0]?.attempts ?? 1));
  await db.prisma.$executeRaw`
    UPDATE staff_events SET claimed_until = NULL, next_attempt_at = ${sqlTimestamp(retryAt)},
      last_error = ${options.error.slice(0, 500)}
    WHERE id = ${eventId}`;
  return retryAt;
}

/**
 * Records a Slack event id as handled; false when it was handled already (Slack retries
 * deliveries it thinks failed).
 */
export async function claimSlackEvent(db: Database, eventId: string): Promise<boolean> {
  const inserted = await db.prisma.$executeRaw`
    INSERT INTO processed_updates (source, update_id) VALUES ('slack', ${eventId}) ON CONFLICT DO NOTHING`;
  return inserted === 1;
}

export interface TicketCard {
  id: number;
  reference: string;
  source: string;
  status: string;
  subject: string | null;
  priority: string;
  createdAt: Date;
  firstResponseAt: Date | null;
  resolvedAt: Date | null;
  assigneeSlackId: string | null;
  csatScore: number | null;
  slack: { channel: string; ts: string } | null;
  /** The customer's first message on the ticket (their words, shown to staff only). */
  opening: string | null;
  messages: number;
  customer: {
    id: number;
    externalId: string;
    name: string | null;
    telegramLinked: boolean;
    segment: string | null;
    churnProbability: number | null;
    riskBand: string | null;
    clv: number | null;
    lastNps: number | null;
  } | null;
}

/** The ticket with its customer's current score, as the Slack card shows it. */
export async function ticketCard(db: Database, ticketId: number): Promise<TicketCard | null> {
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: ticketId },
    include: {
      customer: true,
      messages: { orderBy: { createdAt: "asc" }, where: { author: "customer" }, take: 1 },
      _count: { select: { messages: true } },
    },
  });
  if (!ticket) return null;
  let customer: TicketCard["customer"] = null;
  if (ticket.customer && !ticket.customer.erasedAt) {
    const { current } = await latestScoreRuns(db);
    const [score, nps] = await Promise.all([
      current
        ? db.prisma.score.findUnique({
            where: { runId_customerId: { runId: current.id, customerId: ticket.customer.id } },
          })
        : null,
      db.prisma.feedback.findFirst({
        where: { customerId: ticket.customer.id, kind: "nps" },
        orderBy: { createdAt: "desc" },
      }),
    ]);
    customer = {
      id: ticket.customer.id,
      externalId: ticket.customer.externalId,
      name: ticket.customer.name,
      telegramLinked: ticket.customer.telegramChatId !== null,
      segment: score?.segment ?? null,
      churnProbability: score?.churnProbability ?? null,
      riskBand: score?.riskBand ?? null,
      clv: score?.clv ?? null,
      lastNps: nps?.score ?? null,
    };
  }
  return {
    id: ticket.id,
    reference: ticket.reference,
    source: ticket.source,
    status: ticket.status,
    subject: ticket.subject,
    priority: ticket.priority,
    createdAt: ticket.createdAt,
    firstResponseAt: ticket.firstResponseAt,
    resolvedAt: ticket.resolvedAt,
    assigneeSlackId: ticket.assigneeSlackId,
    csatScore: ticket.csatScore,
    slack: ticket.slackChannel && ticket.slackTs ? { channel: ticket.slackChannel, ts: ticket.slackTs } : null,
    opening: ticket.messages[0]?.text ?? ticket.subject,
    messages: ticket._count.messages,
    customer,
  };
}

/** Remembers the Slack message that shows the ticket; its thread is the conversation. */
export async function recordTicketPost(
  db: Database,
  ticketId: number,
  post: { channel: string; ts: string },
): Promise<void> {
  await db.prisma.ticket.update({ where: { id: ticketId }, data: { slackChannel: post.channel, slackTs: post.ts } });
}

/** Remembers the Slack message that shows a customer's message in the ticket's thread. */
export async function recordCustomerMessagePost(db: Database, messageId: number, ts: string): Promise<void> {
  await db.prisma.ticketMessage.update({ where: { id: messageId }, data: { slackTs: ts } });
}

/** The thread posts that showed the customer's messages of a ticket (to edit after an erasure). */
export async function customerMessagePosts(db: Database, ticketId: number): Promise<{ id: number; ts: string }[]> {
  const rows = await db.prisma.ticketMessage.findMany({
    where: { ticketId, author: "customer", slackTs: { not: null } },
    select: { id: true, slackTs: true },
    orderBy: { id: "asc" },
  });
  return rows.map((r) => ({ id: r.id, ts: r.slackTs! }));
}

/** The ticket whose Slack message starts this thread, or null. */
export async function findTicketByThread(db: Database, channel: string, threadTs: string): Promise<number | null> {
  const t = await db.prisma.ticket.findFirst({
    where: { slackChannel: channel, slackTs: threadTs },
    select: { id: true },
  });
  return t?.id ?? null;
}

/** Assigns the ticket to a Slack user (the last one to press "Assign to me" wins). */
export async function assignTicket(db: Database, ticketId: number, slackUserId: string): Promise<void> {
  await db.prisma.ticket.update({ where: { id: ticketId }, data: { assigneeSlackId: slackUserId } });
}

/** Sets the first-response time once, at the first reply that reached the customer. */
export async function markFirstResponse(db: Database, ticketId: number, at: Date): Promise<void> {
  await db.prisma
    .$executeRaw`UPDATE tickets SET first_response_at = ${sqlTimestamp(at)} WHERE id = ${ticketId} AND first_response_at IS NULL`;
}

/** "1 h 05 min", "3 min", "2 d 4 h": the time between two instants for the card. */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * Takes a file staff shared in a ticket thread to send it on to the customer; false when it was
 * taken already (sent before, or being sent), so an edited message never sends a file twice.
 */
export async function claimReplyFile(
  db: Database,
  file: { slackFileId: string; slackTs: string; fileName: string },
): Promise<boolean> {
  const inserted = await db.prisma.$executeRaw`
    INSERT INTO slack_reply_files (slack_file_id, slack_ts, file_name)
    VALUES (${file.slackFileId}, ${file.slackTs}, ${file.fileName}) ON CONFLICT (slack_file_id) DO NOTHING`;
  return inserted === 1;
}

/** The staff reply that took a claimed file to the customer; or, with null, gives the claim back (not sent). */
export async function settleReplyFile(
  db: Database,
  slackFileId: string,
  ticketMessageId: number | null,
): Promise<void> {
  if (ticketMessageId === null) await db.prisma.slackReplyFile.deleteMany({ where: { slackFileId } });
  else await db.prisma.slackReplyFile.update({ where: { slackFileId }, data: { ticketMessageId } });
}

/** The files of a thread message (by its Slack ts) that were sent on to the customer. */
export async function replyFilesOf(
  db: Database,
  slackTs: string,
): Promise<{ slackFileId: string; fileName: string }[]> {
  return db.prisma.slackReplyFile.findMany({
    where: { slackTs },
    select: { slackFileId: true, fileName: true },
    orderBy: { id: "asc" },
  });
}

/** One customer file's upload into a ticket thread (see `slack_media_uploads`). */
export interface MediaUpload {
  slackFileId: string;
  completedAt: Date | null;
}

/** The upload of attachment `index` of a ticket message, if one was started. */
export async function mediaUploadOf(db: Database, ticketMessageId: number, index: number): Promise<MediaUpload | null> {
  return db.prisma.slackMediaUpload.findUnique({
    where: { ticketMessageId_attachmentIndex: { ticketMessageId, attachmentIndex: index } },
    select: { slackFileId: true, completedAt: true },
  });
}

/**
 * Records the Slack file id of an upload before it is shared into the thread (a new start
 * replaces an upload that was never shared): whatever happens next, the file can be found.
 */
export async function startMediaUpload(
  db: Database,
  upload: { ticketMessageId: number; index: number; slackFileId: string; now: Date },
): Promise<void> {
  await db.prisma.slackMediaUpload.upsert({
    where: {
      ticketMessageId_attachmentIndex: { ticketMessageId: upload.ticketMessageId, attachmentIndex: upload.index },
    },
    create: {
      ticketMessageId: upload.ticketMessageId,
      attachmentIndex: upload.index,
      slackFileId: upload.slackFileId,
      createdAt: upload.now,
    },
    update: { slackFileId: upload.slackFileId, completedAt: null },
  });
}

/** Marks an upload shared into the thread: it is never uploaded again. */
export async function completeMediaUpload(db: Database, slackFileId: string, now: Date): Promise<void> {
  await db.prisma.slackMediaUpload.updateMany({ where: { slackFileId }, data: { completedAt: now } });
}

/** The customer files of a ticket still in Slack (to delete after an erasure). */
export async function mediaUploadsToDelete(db: Database, ticketId: number): Promise<string[]> {
  const rows = await db.prisma.slackMediaUpload.findMany({
    where: { deletedAt: null, message: { ticketId, author: "customer" } },
    select: { slackFileId: true },
    orderBy: { id: "asc" },
  });
  return rows.map((r) => r.slackFileId);
}

/** Marks an uploaded customer file deleted from Slack. */
export async function markMediaUploadDeleted(db: Database, slackFileId: string, now: Date): Promise<void> {
  await db.prisma.slackMediaUpload.updateMany({ where: { slackFileId }, data: { deletedAt: now } });
}
