// The outbox: every outbound message is a row with an idempotency key, written before anything
// is sent. Dispatchers claim due rows with FOR UPDATE SKIP LOCKED, so several share the work,
// and a crashed dispatcher's claims are taken over when its lease expires.
//
// Row states: pending -> claimed (in a dispatcher's batch) -> sending (the provider call is
// in flight) -> sent | pending (retry later) | failed | unreachable | skipped.
// A crash while `claimed` is harmless: the row is claimed again after the lease. A crash while
// `sending`, or a provider call cut off on the wire, leaves the message in doubt (the provider
// may or may not have it): `IN_DOUBT` decides, by kind, in one place.
//
// Every message takes one path, `deliverClaimed`: render (LLM copy included) while the row is
// only `claimed`, then mark it `sending`, then one provider call bounded by a deadline well
// inside the lease, then record the result. A worker renews its own leases while it works
// (`renewClaims`) and never settles its own rows as in doubt.
import { Prisma, type Database } from "../db/client";
import type { Logger } from "../log";
import type { MessageChannel, MessageKind, OutboundMessage, RenderedMessage, SendResult } from "./channel";

/** A message to put in the outbox. */
export interface OutboxRow {
  /** Unique per message, e.g. `campaign:12:customer:345:offer`. */
  idempotencyKey: string;
  customerId: number | null;
  campaignId?: number | null;
  kind: MessageKind;
  payload: Record<string, unknown>;
  /** Not sent before this instant (quiet hours); defaults to the enqueue time. */
  notBefore?: Date;
  channel?: string;
}

/** Kinds that are marketing: consent, caps and quiet hours apply; never re-sent when in doubt. */
export const MARKETING_KINDS: readonly MessageKind[] = ["offer", "survey_nps", "survey_servqual"];

/**
 * What happens to a message that may or may not have reached the customer: marketing is never
 * re-sent (a missed offer is better than a duplicate), transactional kinds are re-sent (a
 * duplicate reply is better than a lost one). The only place that decides it.
 */
export function inDoubtAction(kind: MessageKind): "abandon" | "resend" {
  return MARKETING_KINDS.includes(kind) ? "abandon" : "resend";
}

const IN_DOUBT = "in_doubt";

/** A message claimed by one dispatcher, with what the send-time contact policy needs. */
export interface ClaimedMessage extends OutboundMessage {
  campaignId: number | null;
  /** Claims so far, this one included. */
  attempts: number;
  lockedBy: string;
  notBefore: Date;
  customer: {
    marketingConsent: boolean;
    optedOutAt: Date | null;
    unreachableAt: Date | null;
    erasedAt: Date | null;
    timeZone: string | null;
  } | null;
}

export interface OutboxOptions {
  now: Date;
}

export interface ClaimOptions extends OutboxOptions {
  limit: number;
  workerId: string;
  /** How long a claim lasts; after that another dispatcher may take the row over. */
  leaseMs: number;
}

export interface RecordOptions extends OutboxOptions {
  /** Give up after this many attempts at a retryable error (default 5). */
  maxAttempts?: number;
  /** First backoff delay, doubled per attempt (default 30 s), capped at `maxBackoffMs`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

/** The outcome of one `recordSendResult`, for counters and logs. */
export type RecordOutcome = "sent" | "retry" | "failed" | "unreachable" | "lost_lease";

/** Casts an instant to the store's `timestamp(3)` columns, which hold UTC wall time. */
export function sqlTimestamp(at: Date): Prisma.Sql {
  return Prisma.sql`(${at.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
}

function timestampArray(values: Date[]): Prisma.Sql {
  return Prisma.sql`(SELECT array_agg(t::timestamptz AT TIME ZONE 'UTC' ORDER BY n) FROM unnest(${values.map((v) => v.toISOString())}::text[]) WITH ORDINALITY AS u(t, n))`;
}

/**
 * Puts messages in the outbox in one statement. A key already present is left untouched
 * (`ON CONFLICT DO NOTHING`), so enqueueing twice sends once.
 * @returns how many rows were new and how many keys were already there.
 */
export async function enqueueMessages(
  db: Database,
  rows: OutboxRow[],
  options: OutboxOptions = { now: new Date() },
): Promise<{ inserted: number; duplicates: number }> {
  if (rows.length === 0) return { inserted: 0, duplicates: 0 };
  let inserted = 0;
  // Chunks keep each statement's parameters a sensible size on very large campaigns.
  for (let start = 0; start < rows.length; start += 20_000) {
    const chunk = rows.slice(start, start + 20_000);
    inserted += await db.prisma.$executeRaw`
      INSERT INTO outbox_messages (idempotency_key, customer_id, campaign_id, kind, channel, payload, status, not_before, created_at)
      SELECT k, c, g, kd, ch, p::jsonb, 'pending', nb, ${sqlTimestamp(options.now)}
      FROM unnest(
        ${chunk.map((r) => r.idempotencyKey)}::text[],
        ${chunk.map((r) => r.customerId)}::int[],
        ${chunk.map((r) => r.campaignId ?? null)}::int[],
        ${chunk.map((r) => r.kind)}::text[],
        ${chunk.map((r) => r.channel ?? "telegram")}::text[],
        ${chunk.map((r) => JSON.stringify(r.payload))}::text[],
        ${timestampArray(chunk.map((r) => r.notBefore ?? options.now))}::timestamp[]
      ) AS x(k, c, g, kd, ch, p, nb)
      ON CONFLICT (idempotency_key) DO NOTHING`;
  }
  return { inserted, duplicates: rows.length - inserted };
}

interface ClaimedRow {
  id: number;
  idempotency_key: string;
  customer_id: number | null;
  campaign_id: number | null;
  kind: string;
  payload: unknown;
  attempts: number;
  locked_by: string;
  not_before: Date;
  telegram_chat_id: bigint | null;
  locale: string | null;
  has_customer: boolean;
  marketing_consent: boolean | null;
  opted_out_at: Date | null;
  unreachable_at: Date | null;
  erased_at: Date | null;
  time_zone: string | null;
}

/**
 * The chat a message goes to: the customer's, or for a notice with `toChat` (the chat that opened
 * the customer's link and was refused) that chat. Erasure clears the payload with the rest.
 */
function toChat(row: ClaimedRow): bigint | null {
  const payload = (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>;
  if (row.kind === "notice" && typeof payload?.toChat === "string" && /^-?\d+$/.test(payload.toChat))
    return BigInt(payload.toChat);
  return row.telegram_chat_id === null ? null : BigInt(row.telegram_chat_id);
}

function toClaimed(row: ClaimedRow, defaultLocale: string): ClaimedMessage {
  return {
    outboxId: row.id,
    idempotencyKey: row.idempotency_key,
    customerId: row.customer_id,
    campaignId: row.campaign_id,
    chatId: toChat(row),
    locale: row.locale ?? defaultLocale,
    kind: row.kind as MessageKind,
    payload: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>,
    attempts: row.attempts,
    lockedBy: row.locked_by,
    notBefore: new Date(row.not_before),
    customer: row.has_customer
      ? {
          marketingConsent: row.marketing_consent ?? false,
          optedOutAt: row.opted_out_at,
          unreachableAt: row.unreachable_at,
          erasedAt: row.erased_at,
          timeZone: row.time_zone,
        }
      : null,
  };
}

/**
 * Claims up to `limit` due messages for one dispatcher in a single statement
 * (`UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`), so concurrent
 * dispatchers never claim the same row. Rows whose lease expired are taken over: a `claimed`
 * row is simply claimed again; a `sending` row is in doubt and first settled by
 * {@link settleInDoubt} (called here).
 */
export async function claimDueMessages(
  db: Database,
  options: ClaimOptions & { defaultLocale?: string },
): Promise<ClaimedMessage[]> {
  await settleInDoubt(db, options);
  const leaseCutoff = new Date(options.now.getTime() - options.leaseMs);
  const rows = await db.prisma.$queryRaw<ClaimedRow[]>`
    WITH picked AS (
      SELECT id FROM outbox_messages
      WHERE (status = 'pending' AND not_before <= ${sqlTimestamp(options.now)})
         OR (status = 'claimed' AND locked_at < ${sqlTimestamp(leaseCutoff)})
      ORDER BY not_before, id
      LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE outbox_messages o
      SET status = 'claimed', locked_at = ${sqlTimestamp(options.now)}, locked_by = ${options.workerId}, attempts = o.attempts + 1
      FROM picked WHERE o.id = picked.id
      RETURNING o.id, o.idempotency_key, o.customer_id, o.campaign_id, o.kind, o.payload, o.attempts, o.locked_by, o.not_before
    )
    SELECT claimed.*, c.telegram_chat_id, c.locale, (c.id IS NOT NULL) AS has_customer, c.marketing_consent,
           c.opted_out_at, c.unreachable_at, c.erased_at, c.time_zone
    FROM claimed LEFT JOIN customers c ON c.id = claimed.customer_id
    ORDER BY claimed.not_before, claimed.id`;
  return rows.map((r) => toClaimed(r, options.defaultLocale ?? "en"));
}

/**
 * Settles messages whose worker stopped while the provider call was in flight (status
 * `sending`, lease expired and not renewed) as {@link inDoubtAction} says: abandoned ones become
 * `failed` with `last_error = 'in_doubt'`, re-sent ones go back to `pending`. Rows of `workerId`
 * (the caller's own, still in its hands) are never touched.
 * @returns how many rows were settled each way.
 */
export async function settleInDoubt(
  db: Database,
  options: OutboxOptions & { leaseMs: number; workerId?: string },
): Promise<{ abandoned: number; requeued: number }> {
  const cutoff = sqlTimestamp(new Date(options.now.getTime() - options.leaseMs));
  const abandonKinds = MARKETING_KINDS.filter((k) => inDoubtAction(k) === "abandon");
  const stale = Prisma.sql`status = 'sending' AND locked_at < ${cutoff} AND locked_by IS DISTINCT FROM ${options.workerId ?? null}::text`;
  const abandoned = await db.prisma.$executeRaw`
    UPDATE outbox_messages SET status = 'failed', last_error = ${IN_DOUBT}, locked_at = NULL, locked_by = NULL
    WHERE ${stale} AND kind = ANY(${abandonKinds}::text[])`;
  const requeued = await db.prisma.$executeRaw`
    UPDATE outbox_messages SET status = 'pending', last_error = ${IN_DOUBT}, locked_at = NULL, locked_by = NULL
    WHERE ${stale} AND NOT (kind = ANY(${abandonKinds}::text[]))`;
  return { abandoned, requeued };
}

/**
 * Renews the lease of every row `workerId` holds (`claimed` or `sending`), so a long batch or a
 * slow provider never lets another worker take over, nor settle, a live worker's messages.
 * @returns how many rows were renewed.
 */
export async function renewClaims(db: Database, workerId: string, options: OutboxOptions): Promise<number> {
  return db.prisma.$executeRaw`
    UPDATE outbox_messages SET locked_at = ${sqlTimestamp(options.now)}
    WHERE locked_by = ${workerId} AND status IN ('claimed', 'sending')`;
}

/**
 * Marks a claimed message as in flight, just before the provider call. Returns false when this
 * dispatcher no longer holds the claim (its lease expired and another took the row over):
 * the caller must not send then.
 */
export async function markSending(db: Database, message: ClaimedMessage, options: OutboxOptions): Promise<boolean> {
  const updated = await db.prisma.$executeRaw`
    UPDATE outbox_messages SET status = 'sending', locked_at = ${sqlTimestamp(options.now)}
    WHERE id = ${message.outboxId} AND status = 'claimed' AND locked_by = ${message.lockedBy}`;
  return updated === 1;
}

/** Exponential backoff for attempt `n` (1-based): base x 2^(n-1), capped. */
export function backoffMs(attempt: number, baseMs = 30_000, maxMs = 3_600_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Records what the channel said about one message and logs the attempt in
 * `delivery_attempts`, in one statement per outcome. Sent: `sent` with the provider id (an
 * offer's issue is marked sent too). Retryable: back to `pending` after a backoff (or the
 * provider's `retry_after`), `failed` after `maxAttempts`. Unreachable: the message and the
 * customer are marked unreachable. Other errors: `failed`.
 * @returns the outcome, or `lost_lease` when another dispatcher had taken the row over.
 */
export async function recordSendResult(
  db: Database,
  message: ClaimedMessage,
  result: SendResult,
  options: RecordOptions & { latencyMs?: number },
): Promise<RecordOutcome> {
  const now = sqlTimestamp(options.now);
  const owned = Prisma.sql`id = ${message.outboxId} AND status = 'sending' AND locked_by = ${message.lockedBy}`;
  const latency = options.latencyMs === undefined ? null : Math.round(options.latencyMs);
  const logAttempt = (ok: boolean, error: string | null, retryable: boolean) => Prisma.sql`
    INSERT INTO delivery_attempts (outbox_id, attempted_at, ok, error, retryable, latency_ms)
    SELECT id, ${now}, ${ok}, ${error}, ${retryable}, ${latency}::int FROM upd`;

  let outcome: RecordOutcome;
  let count: number;
  if (result.ok) {
    outcome = "sent";
    const issueId = Number(message.payload.offerIssueId);
    count = await db.prisma.$executeRaw`
      WITH upd AS (
        UPDATE outbox_messages SET status = 'sent', sent_at = ${now}, provider_id = ${result.providerId},
          locked_at = NULL, locked_by = NULL, last_error = NULL
        WHERE ${owned} RETURNING id
      ), issue AS (
        UPDATE offer_issues SET status = 'sent', sent_at = ${now}
        WHERE id = ${Number.isInteger(issueId) ? issueId : null}::int AND status = 'issued' AND EXISTS (SELECT 1 FROM upd)
      )
      ${logAttempt(true, null, false)}`;
  } else if (result.unreachable) {
    outcome = "unreachable";
    count = await db.prisma.$executeRaw`
      WITH upd AS (
        UPDATE outbox_messages SET status = 'unreachable', last_error = ${result.error}, locked_at = NULL, locked_by = NULL
        WHERE ${owned} RETURNING id, customer_id
      ), cust AS (
        UPDATE customers SET unreachable_at = ${now}
        WHERE id = (SELECT customer_id FROM upd) AND unreachable_at IS NULL
      )
      ${logAttempt(false, result.error, false)}`;
  } else if (result.notSent) {
    // Never left our process: back in line soon, and the claim does not count as an attempt.
    outcome = "retry";
    count = await db.prisma.$executeRaw`
      WITH upd AS (
        UPDATE outbox_messages SET status = 'pending', last_error = ${result.error},
          not_before = ${sqlTimestamp(new Date(options.now.getTime() + (result.retryAfterMs ?? 1000)))},
          attempts = GREATEST(attempts - 1, 0), locked_at = NULL, locked_by = NULL
        WHERE ${owned} RETURNING id
      )
      ${logAttempt(false, result.error, true)}`;
  } else if (result.inDoubt && inDoubtAction(message.kind) === "abandon") {
    outcome = "failed";
    count = await db.prisma.$executeRaw`
      WITH upd AS (
        UPDATE outbox_messages SET status = 'failed', last_error = ${IN_DOUBT}, locked_at = NULL, locked_by = NULL
        WHERE ${owned} RETURNING id
      )
      ${logAttempt(false, result.error, false)}`;
  } else if (result.retryable && message.attempts < (options.maxAttempts ?? 5)) {
    outcome = "retry";
    const delay = result.retryAfterMs ?? backoffMs(message.attempts, options.baseBackoffMs, options.maxBackoffMs);
    count = await db.prisma.$executeRaw`
      WITH upd AS (
        UPDATE outbox_messages SET status = 'pending', last_error = ${result.error},
          not_before = ${sqlTimestamp(new Date(options.now.getTime() + delay))}, locked_at = NULL, locked_by = NULL
        WHERE ${owned} RETURNING id
      )
      ${logAttempt(false, result.error, true)}`;
  } else {
    outcome = "failed";
    count = await db.prisma.$executeRaw`
      WITH upd AS (
        UPDATE outbox_messages SET status = 'failed', last_error = ${result.error}, locked_at = NULL, locked_by = NULL
        WHERE ${owned} RETURNING id
      )
      ${logAttempt(false, result.error, result.retryable)}`;
  }
  return count === 1 ? outcome : "lost_lease";
}

/** Settles a claimed message without sending it: contact policy said no (`skipped`). */
export async function skipMessage(db: Database, message: ClaimedMessage, reason: string): Promise<boolean> {
  const n = await db.prisma.$executeRaw`
    UPDATE outbox_messages SET status = 'skipped', skip_reason = ${reason}, locked_at = NULL, locked_by = NULL
    WHERE id = ${message.outboxId} AND status = 'claimed' AND locked_by = ${message.lockedBy}`;
  return n === 1;
}

/**
 * Puts a claimed message back until `notBefore` (quiet hours, the customer's send hour), without
 * counting an attempt. `dueAt` records when it first became due, unless already recorded.
 */
export async function deferMessage(
  db: Database,
  message: ClaimedMessage,
  notBefore: Date,
  options: { dueAt?: Date } = {},
): Promise<boolean> {
  const dueAt = options.dueAt ? sqlTimestamp(options.dueAt) : Prisma.sql`NULL::timestamp`;
  const n = await db.prisma.$executeRaw`
    UPDATE outbox_messages SET status = 'pending', not_before = ${sqlTimestamp(notBefore)},
      due_at = coalesce(due_at, ${dueAt}),
      attempts = GREATEST(attempts - 1, 0), locked_at = NULL, locked_by = NULL
    WHERE id = ${message.outboxId} AND status = 'claimed' AND locked_by = ${message.lockedBy}`;
  return n === 1;
}

export interface DeliverOptions extends Omit<RecordOptions, "now"> {
  /** The clock, read when the row is marked in flight and when the result is recorded. */
  clock: () => Date;
  /** The provider call's whole time, retries and waits included; keep it well below the lease. */
  sendBudgetMs: number;
  log?: Logger;
  /** Sees the channel's answer (for counters). */
  onResult?: (result: SendResult) => void;
}

/**
 * Delivers one claimed message: renders it while it is only `claimed` (a slow model costs no
 * doubt), marks it `sending`, calls the channel with a deadline of `sendBudgetMs`, and records
 * the result. A message that cannot be rendered fails unsent. A channel that throws leaves the
 * message in doubt. The one delivery path for every outbound message.
 * @returns the recorded outcome, or `lost_lease` when another worker holds the row now.
 */
export async function deliverClaimed(
  db: Database,
  channel: MessageChannel,
  message: ClaimedMessage,
  options: DeliverOptions,
): Promise<RecordOutcome> {
  let rendered: RenderedMessage | undefined;
  let renderError: string | undefined;
  try {
    rendered = channel.render && message.chatId !== null ? await channel.render(message) : undefined;
  } catch (error) {
    renderError = `render failed: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`;
    options.log?.error({ outboxId: message.outboxId, kind: message.kind, err: renderError }, "message not rendered");
  }
  if (!(await markSending(db, message, { now: options.clock() }))) return "lost_lease";
  const started = Date.now();
  let result: SendResult;
  if (renderError !== undefined) result = { ok: false, retryable: false, error: renderError };
  else {
    try {
      result = await channel.send({ ...message, rendered }, { signal: AbortSignal.timeout(options.sendBudgetMs) });
    } catch (error) {
      options.log?.error({ outboxId: message.outboxId, kind: message.kind }, "channel send threw");
      result = {
        ok: false,
        retryable: true,
        inDoubt: true,
        error: error instanceof Error ? error.message.slice(0, 300) : String(error),
      };
    }
  }
  options.onResult?.(result);
  return recordSendResult(db, message, result, { ...options, now: options.clock(), latencyMs: Date.now() - started });
}

/** What `sendNow` did: the recorded outcome, or `duplicate` when the key was already handled. */
export type SendNowOutcome = RecordOutcome | "duplicate";

/**
 * Enqueues one transactional message (ticket reply, CSAT request) and delivers it at once
 * through {@link deliverClaimed}, without waiting for the dispatcher. Idempotent: a key already
 * sent, or being sent by someone else, returns `duplicate`; a key left pending by an earlier
 * failed call is sent. A retryable failure leaves the row to the dispatcher (after the backoff).
 */
export async function sendNow(
  db: Database,
  channel: MessageChannel,
  row: OutboxRow,
  options: RecordOptions & { workerId?: string; defaultLocale?: string; sendBudgetMs?: number; log?: Logger },
): Promise<SendNowOutcome> {
  // Not due for the dispatcher for a minute: this call sends it; the dispatcher only takes
  // over if this process dies before it could.
  await enqueueMessages(
    db,
    [{ ...row, notBefore: row.notBefore ?? new Date(options.now.getTime() + 60_000) }],
    options,
  );
  return deliverNow(db, channel, row.idempotencyKey, options);
}

/**
 * Claims the pending message with this key and delivers it now (`duplicate` when it is not
 * pending: already sent, or taken by another worker). `sendNow` after enqueueing, and a retry
 * that put a failed message back to pending, both end here.
 */
export async function deliverNow(
  db: Database,
  channel: MessageChannel,
  idempotencyKey: string,
  options: RecordOptions & { workerId?: string; defaultLocale?: string; sendBudgetMs?: number; log?: Logger },
): Promise<SendNowOutcome> {
  const workerId = options.workerId ?? `send-now:${process.pid}`;
  const rows = await db.prisma.$queryRaw<ClaimedRow[]>`
    WITH claimed AS (
      UPDATE outbox_messages o
      SET status = 'claimed', locked_at = ${sqlTimestamp(options.now)}, locked_by = ${workerId}, attempts = o.attempts + 1
      WHERE o.idempotency_key = ${idempotencyKey} AND o.status = 'pending'
      RETURNING o.id, o.idempotency_key, o.customer_id, o.campaign_id, o.kind, o.payload, o.attempts, o.locked_by, o.not_before
    )
    SELECT claimed.*, c.telegram_chat_id, c.locale, (c.id IS NOT NULL) AS has_customer, c.marketing_consent,
           c.opted_out_at, c.unreachable_at, c.erased_at, c.time_zone
    FROM claimed LEFT JOIN customers c ON c.id = claimed.customer_id`;
  if (rows.length === 0) return "duplicate";
  const message = toClaimed(rows[0]!, options.defaultLocale ?? "en");
  const fixed = options.now;
  const { now: _now, ...rest } = options;
  return deliverClaimed(db, channel, message, {
    ...rest,
    clock: () => fixed,
    sendBudgetMs: options.sendBudgetMs ?? DEFAULT_SEND_BUDGET_MS,
  });
}

/** A send's deadline when the caller names none: well inside the dispatcher's default lease. */
export const DEFAULT_SEND_BUDGET_MS = 10_000;
