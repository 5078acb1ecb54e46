// The dispatcher: claims due outbox rows, applies the contact policy again, and delivers each
// through the one delivery path (`deliverClaimed`: render, mark in flight, send within a deadline,
// record). The pace is the process's Telegram limiter's (shared with the bot's replies); the
// dispatcher only bounds how many messages it has in hand. Several dispatchers (processes or
// hosts) can run at once: claims use FOR UPDATE SKIP LOCKED, each renews its own leases while it
// works, and a crashed dispatcher's claims are taken over when their lease expires.
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { withOfferContext } from "../core/campaigns/offer-context-batch";
import { checkBatchBeforeSend } from "../core/campaigns/send-check";
import type { MessageChannel } from "../core/messaging/channel";
import {
  claimDueMessages,
  deliverClaimed,
  renewClaims,
  type ClaimedMessage,
  type RecordOutcome,
} from "../core/messaging/outbox";
import type { Config } from "../core/config/config";
import { expireOffers } from "../core/offers/offer-expiry";
import type { AppContext } from "./context";
import { runtimeFor } from "./runtime";
import { newWorkerId } from "./worker-id";

/** The scheduled job: drains what is due now through the process's channel. */
export const dispatchJob = {
  name: "dispatch",
  exclusive: false,
  cronFrom: (config: Config) => config.schedule.cron.dispatch,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    return { ...(await runDispatch(ctx)) };
  },
};

export interface DispatchOptions {
  /** Messages rendered and sent at once; default `config.contact.dispatchConcurrency`. */
  concurrency?: number;
  batchSize?: number;
  /** Stop after this many claimed messages (tests, benchmarks). */
  maxMessages?: number;
  /** Stop when nothing is due (default), or keep polling every `pollMs` until `signal` aborts. */
  untilEmpty?: boolean;
  pollMs?: number;
  signal?: AbortSignal;
  workerId?: string;
  /** Claim lease; default `config.contact.dispatchLeaseMs`. Each send is bounded at half of it. */
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
  /** Marketing messages held for the customer's send hour. */
  held: number;
  skipped: Record<string, number>;
  rateLimited: number;
  /** Sent offers found expired (their buttons removed) before this run claimed anything. */
  offersExpired: number;
  elapsedMs: number;
}

/** The channel the dispatcher sends through: the process runtime's (Telegram, or the dry run). */
export async function buildDispatchChannel(ctx: AppContext): Promise<MessageChannel> {
  return (await runtimeFor(ctx)).channel(ctx.db);
}

/** Runs the dispatch loop once (until nothing is due, or until `signal` aborts). */
export async function runDispatch(
  ctx: AppContext,
  given?: MessageChannel,
  options: DispatchOptions = {},
): Promise<DispatchStats> {
  const started = Date.now();
  const channel = given ?? (await buildDispatchChannel(ctx));
  const concurrency = options.concurrency ?? ctx.config.contact.dispatchConcurrency;
  const batchSize = options.batchSize ?? ctx.config.contact.dispatchBatchSize;
  const leaseMs = options.leaseMs ?? ctx.config.contact.dispatchLeaseMs;
  const workerId = options.workerId ?? newWorkerId();
  const policy = contactPolicyFromConfig(ctx.config);
  const stats: DispatchStats = {
    workerId,
    claimed: 0,
    sent: 0,
    retry: 0,
    failed: 0,
    unreachable: 0,
    lostLease: 0,
    deferred: 0,
    held: 0,
    skipped: {},
    rateLimited: 0,
    offersExpired: 0,
    elapsedMs: 0,
  };
  // Buttons of offers that expired since the last run go first: nobody should tap a dead offer.
  stats.offersExpired = (await expireOffers(ctx.db, channel, { now: ctx.now() })).expired;
  const count = (outcome: RecordOutcome) => {
    if (outcome === "lost_lease") stats.lostLease++;
    else stats[outcome]++;
  };

  // Messages claimed and not yet settled; `active` of them are being rendered or sent.
  const queue: ClaimedMessage[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  const pump = () => {
    while (inflight.size < concurrency && queue.length > 0 && failure === undefined) {
      const message = queue.shift()!;
      const work: Promise<void> = deliverClaimed(ctx.db, channel, message, {
        clock: ctx.now,
        sendBudgetMs: Math.floor(leaseMs / 2),
        log: ctx.log,
        onResult: (result) => {
          if (!result.ok && result.error.startsWith("429")) stats.rateLimited++;
        },
      })
        .then(count)
        // A thrown error (the database is gone) stops the loop and fails the job, after the
        // messages already in flight have settled.
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => {
          inflight.delete(work);
          pump();
        });
      inflight.add(work);
    }
  };
  // Our claims stay ours while we work through them: renewed at a third of the lease.
  const heartbeat = setInterval(
    () => {
      renewClaims(ctx.db, workerId, { now: ctx.now() }).catch((error: unknown) =>
        ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, "lease renewal failed"),
      );
    },
    Math.max(1000, Math.floor(leaseMs / 3)),
  );
  heartbeat.unref();

  try {
    while (!options.signal?.aborted && failure === undefined) {
      // Claim the next batch while the current one is still being sent (no gap in the pace),
      // but hold at most about one and a half batches.
      while (queue.length > batchSize / 2 && failure === undefined) await Promise.race(inflight);
      if (failure !== undefined) break;
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
          await Promise.race(inflight);
          continue;
        }
        if (options.untilEmpty !== false) break;
        await sleep(options.pollMs ?? 1000, options.signal);
        continue;
      }
      stats.claimed += batch.length;
      const checked = await checkBatchBeforeSend(ctx.db, batch, policy, ctx.now());
      stats.deferred += checked.deferred;
      stats.held += checked.held;
      for (const [reason, n] of Object.entries(checked.skipped))
        stats.skipped[reason] = (stats.skipped[reason] ?? 0) + n;
      queue.push(...(await withOfferContext(ctx.db, checked.toSend)));
      pump();
    }
    // Aborted or failed: what is claimed but not started stays claimed and is taken over after
    // the lease. Otherwise everything claimed is delivered first.
    if (options.signal?.aborted || failure !== undefined) queue.length = 0;
    while (inflight.size > 0) await Promise.all([...inflight]);
    if (failure !== undefined) throw failure;
  } finally {
    clearInterval(heartbeat);
  }
  stats.elapsedMs = Date.now() - started;
  if (stats.claimed > 0) ctx.log.info({ ...stats }, "dispatch finished");
  else ctx.log.debug({ ...stats }, "dispatch finished: nothing due");
  return stats;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
