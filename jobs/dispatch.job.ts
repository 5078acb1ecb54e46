// The dispatcher: claims due outbox rows, applies the contact policy again, sends through the
// channel at the configured rate (bottleneck), and records every result. Several dispatchers
// (processes or hosts) can run at once: claims use FOR UPDATE SKIP LOCKED, and a crashed
// dispatcher's claims are taken over when their lease expires.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import Bottleneck from "bottleneck";
import { createTelegramChannel } from "../bot/telegram/telegram-channel";
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { withOfferContext } from "../core/campaigns/offer-context-batch";
import { checkBatchBeforeSend } from "../core/campaigns/send-check";
import type { MessageChannel, SendResult } from "../core/messaging/channel";
import { DryRunChannel } from "../core/messaging/dry-run-channel";
import {
  claimDueMessages,
  markSending,
  recordSendResult,
  type ClaimedMessage,
  type RecordOutcome,
} from "../core/messaging/outbox";
import { enrichOutboundMessage } from "../core/offers/offer-context";
import type { Config } from "../core/config/config";
import type { AppContext } from "./context";

/** The scheduled job: drains what is due now through the configured channel. */
export const dispatchJob = {
  name: "dispatch",
  exclusive: false,
  cronFrom: (config: Config) => config.schedule.cron.dispatch,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    return { ...(await runDispatch(ctx)) };
  },
};

export interface DispatchOptions {
  /** Messages per second; default `config.contact.dispatchRatePerSecond`. */
  ratePerSecond?: number;
  batchSize?: number;
  /** Stop after this many claimed messages (tests, benchmarks). */
  maxMessages?: number;
  /** Stop when nothing is due (default), or keep polling every `pollMs` until `signal` aborts. */
  untilEmpty?: boolean;
  pollMs?: number;
  signal?: AbortSignal;
  workerId?: string;
  /** Claim lease; default long enough for one batch at the rate, at least 10 s. */
  leaseMs?: number;
}

export interface DispatchStats {
  workerId: string;
  claimed: number;
  sent: number;
  retry: number;
  failed: number;
  unreachable: number;
  lostLease: number;
  deferred: number;
  skipped: Record<string, number>;
  rateLimited: number;
  elapsedMs: number;
}

/** The channel the dispatcher sends through: Telegram with a token, otherwise the dry run. */
export function buildDispatchChannel(ctx: AppContext): MessageChannel {
  const { token, apiRoot } = ctx.config.telegram;
  if (!token) return new DryRunChannel(ctx.log);
  // The dispatcher paces itself (bottleneck at DISPATCH_RATE_PER_SECOND); a second throttler
  // inside the Api would only slow it below the configured rate.
  return createTelegramChannel({
    token,
    apiRoot,
    throttle: false,
    enrich: (m) => enrichOutboundMessage(ctx.db, m),
    log: ctx.log,
  });
}

/** A dispatcher identity unique per process: host, pid and a random suffix. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** Runs the dispatch loop once (until nothing is due, or until `signal` aborts). */
export async function runDispatch(
  ctx: AppContext,
  channel: MessageChannel = buildDispatchChannel(ctx),
  options: DispatchOptions = {},
): Promise<DispatchStats> {
  const started = Date.now();
  const rate = options.ratePerSecond ?? ctx.config.contact.dispatchRatePerSecond;
  const batchSize = options.batchSize ?? ctx.config.contact.dispatchBatchSize;
  const leaseMs = options.leaseMs ?? Math.max(10_000, Math.ceil((2 * batchSize * 1000) / rate) + 5_000);
  const workerId = options.workerId ?? newWorkerId();
  const policy = contactPolicyFromConfig(ctx.config);
  // Start times spaced 1/rate apart; enough concurrency that calls taking up to half a second
  // (database + Telegram) still reach the rate.
  const limiter = new Bottleneck({ minTime: 1000 / rate, maxConcurrent: Math.max(4, Math.ceil(rate / 2)) });
  const inflight = new Set<Promise<void>>();
  const waiting = () => {
    const c = limiter.counts();
    return (c.RECEIVED ?? 0) + (c.QUEUED ?? 0);
  };
  const stats: DispatchStats = {
    workerId,
    claimed: 0,
    sent: 0,
    retry: 0,
    failed: 0,
    unreachable: 0,
    lostLease: 0,
    deferred: 0,
    skipped: {},
    rateLimited: 0,
    elapsedMs: 0,
  };
  const count = (outcome: RecordOutcome) => {
    if (outcome === "lost_lease") stats.lostLease++;
    else stats[outcome]++;
  };

  const deliver = async (message: ClaimedMessage) => {
    if (!(await markSending(ctx.db, message, { now: ctx.now() }))) {
      stats.lostLease++;
      return;
    }
    const t = Date.now();
    let result: SendResult;
    try {
      result = await channel.send(message);
    } catch (error) {
      // A render bug or an unexpected exception: permanent for this message, keep going.
      ctx.log.error({ err: error, outboxId: message.outboxId }, "send threw");
      result = {
        ok: false,
        retryable: false,
        error: error instanceof Error ? error.message.slice(0, 300) : String(error),
      };
    }
    if (!result.ok && result.error.startsWith("429")) stats.rateLimited++;
    count(await recordSendResult(ctx.db, message, result, { now: ctx.now(), latencyMs: Date.now() - t }));
  };

  try {
    let failure: unknown;
    while (!options.signal?.aborted && failure === undefined) {
      // Claim the next batch while the current one is still being sent (no gap in the pace),
      // but never hold more than about one and a half batches, so claims stay within the lease.
      while (waiting() > batchSize / 2) await sleep(10);
      const limit =
        options.maxMessages === undefined ? batchSize : Math.min(batchSize, options.maxMessages - stats.claimed);
      if (limit <= 0) break;
      const batch = await claimDueMessages(ctx.db, {
        limit,
        workerId,
        now: ctx.now(),
        leaseMs,
        defaultLocale: ctx.config.business.locale,
      });
      if (batch.length === 0) {
        if (inflight.size > 0) {
          await Promise.all([...inflight]);
          continue;
        }
        if (options.untilEmpty !== false) break;
        await sleep(options.pollMs ?? 1000, options.signal);
        continue;
      }
      stats.claimed += batch.length;
      const checked = await checkBatchBeforeSend(ctx.db, batch, policy, ctx.now());
      stats.deferred += checked.deferred;
      for (const [reason, n] of Object.entries(checked.skipped))
        stats.skipped[reason] = (stats.skipped[reason] ?? 0) + n;
      const toSend = await withOfferContext(ctx.db, checked.toSend);
      for (const m of toSend) {
        // A thrown error (the database is gone) stops the loop and fails the job, after the
        // messages already in flight have settled.
        const work: Promise<void> = limiter
          .schedule(() => deliver(m))
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => inflight.delete(work));
        inflight.add(work);
      }
    }
    await Promise.all([...inflight]);
    if (failure !== undefined) throw failure;
  } finally {
    await limiter.stop({ dropWaitingJobs: false }).catch(() => undefined);
  }
  stats.elapsedMs = Date.now() - started;
  if (stats.claimed > 0) ctx.log.info({ ...stats }, "dispatch finished");
  else ctx.log.debug({ ...stats }, "dispatch finished: nothing due");
  return stats;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
