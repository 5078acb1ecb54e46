// Every outgoing Bot API call of a process goes through one `TelegramLimiter` per bot token:
// about 30 calls a second overall and one a second per chat (Telegram's limits), with a 429's
// `retry_after` honoured here, inside the limiter: the 429 pauses every call of the token for
// that long, then the call is tried again. grammY's docs advise against the old throttler plugin
// (it queues without knowing about 429s); this is a grammY API transformer over bottleneck.
//
// grammY builds a fresh `Api` for each update and copies the bot's installed transformers onto it,
// so the limiter lives in the transformer, not in an `Api` object: the bot's replies, the
// dispatcher's sends, staff replies and CSAT requests all share it when they share the transformer.
//
// Transformer order in grammY: the last one installed is the outermost (it sees the call first).
// This module installs a single transformer, so there is no order to get wrong.
import Bottleneck from "bottleneck";
import { Api, type Transformer } from "grammy";

export interface TelegramLimits {
  /** Calls a second for the whole token; 0 turns the overall limit off (benchmarks only). */
  perSecond: number;
  /** Messages a second to one chat; 0 turns the per-chat limit off (benchmarks only). */
  perChatPerSecond: number;
  /** Tries of one call that keeps getting 429 (default 4). */
  maxAttempts?: number;
  /** A `retry_after` longer than this is not waited for: the 429 goes back to the caller (default 60 s). */
  maxRetryAfterSeconds?: number;
}

/** Telegram's published limits for a bot. */
export const TELEGRAM_LIMITS: TelegramLimits = { perSecond: 30, perChatPerSecond: 1 };

/**
 * Telegram counts calls as they arrive, and arrivals bunch: the network, or a process busy for a
 * moment, delivers calls started evenly a little closer together. Calls are started this much
 * further apart than the limit needs (30 a second → one each 39 ms, about 26 a second), so any
 * rolling second stays within the limit even when calls arrive up to about 150 ms closer together.
 */
export const PACING_HEADROOM = 1.15;

/**
 * Thrown when a call gave up before reaching Telegram: its caller's deadline (the `AbortSignal`
 * passed to the call) passed while the call waited in the limiter or out a 429. Nothing was
 * sent, so trying again later is safe.
 */
export class NotSentError extends Error {
  constructor(
    message: string,
    /** How long Telegram asked us to wait, when a 429 was the reason. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "NotSentError";
  }
}

// Calls that send nothing to a chat and must never queue behind messages (long polling, set-up).
const UNLIMITED_METHODS = new Set([
  "getUpdates",
  "getMe",
  "setWebhook",
  "deleteWebhook",
  "getWebhookInfo",
  "setMyCommands",
  "logOut",
  "close",
]);

/** What a transformer gets back: Telegram's answer, before grammY turns a failure into an error. */
type ApiAnswer = { ok: true } | { ok: false; error_code: number; parameters?: { retry_after?: number } };

interface ChatGate {
  tail: Promise<void>;
  lastAt: number;
  pending: number;
}

/** The one limiter for one bot token; install its `transformer` on every `Api` using the token. */
export class TelegramLimiter {
  readonly transformer: Transformer;
  /** 429 answers seen (for metrics and logs). */
  rateLimited = 0;
  private readonly global: Bottleneck;
  private readonly chatIntervalMs: number;
  private readonly chats = new Map<string, ChatGate>();
  private pausedUntil = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  private calls = 0;
  /** When the next call may start: reserved at each start, from the time it really starts. */
  private nextStartAt = 0;
  private readonly spacingMs: number;

  constructor(private readonly limits: TelegramLimits = TELEGRAM_LIMITS) {
    this.spacingMs = limits.perSecond > 0 ? Math.ceil((1000 * PACING_HEADROOM) / limits.perSecond) : 0;
    this.global = new Bottleneck({ minTime: this.spacingMs });
    this.chatIntervalMs = limits.perChatPerSecond > 0 ? Math.ceil(1000 / limits.perChatPerSecond) : 0;
    this.transformer = (prev, method, payload, signal) => {
      if (UNLIMITED_METHODS.has(method)) return prev(method, payload, signal);
      const chat = (payload as { chat_id?: unknown } | undefined)?.chat_id;
      // grammY types its signal with the abort-controller shim; at run time it is Node's. The
      // caller's signal bounds only the waiting here: a call on the wire is never cut off (that
      // would leave the message in doubt); the client's own timeout ends a hung connection.
      const deadline = signal as unknown as AbortSignal | undefined;
      return this.call(() => prev(method, payload), chat === undefined ? undefined : String(chat), deadline);
    };
  }

  /**
   * Runs one API call within the limits, trying it again after each 429 (see the module
   * comment). Transformers see Telegram's answer before grammY turns it into an error.
   */
  private async call<T extends ApiAnswer>(
    run: () => Promise<T>,
    chat: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const maxAttempts = this.limits.maxAttempts ?? 4;
    const maxRetryAfterMs = (this.limits.maxRetryAfterSeconds ?? 60) * 1000;
    for (let attempt = 1; ; attempt++) {
      await this.waitForPause(signal);
      const answer = await this.throughChat(chat, signal, run);
      if (answer.ok || answer.error_code !== 429) return answer;
      this.rateLimited++;
      const retryAfterMs = (answer.parameters?.retry_after ?? 1) * 1000;
      this.pause(retryAfterMs);
      if (attempt >= maxAttempts || retryAfterMs > maxRetryAfterMs) return answer;
    }
  }

  /** Stops every call of the token for `ms` (a 429 said so); calls already queued wait too. */
  pause(ms: number): void {
    const until = Date.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    void this.global.updateSettings({ reservoir: 0 });
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      void this.global.updateSettings({ reservoir: null });
    }, ms);
    this.resumeTimer.unref();
  }

  private async waitForPause(signal: AbortSignal | undefined): Promise<void> {
    const ms = this.pausedUntil - Date.now();
    if (ms <= 0) return;
    if (!(await sleepUnlessAborted(ms, signal)))
      throw new NotSentError(`deadline passed while Telegram asked to wait ${Math.ceil(ms / 1000)} s`, ms);
  }

  /** One message a chat at a time, `chatIntervalMs` apart, each then through the overall limit. */
  private async throughChat<T>(chat: string | undefined, signal: AbortSignal | undefined, run: () => Promise<T>) {
    if (chat === undefined || this.chatIntervalMs === 0) return this.throughGlobal(signal, run);
    const gate = this.chats.get(chat) ?? { tail: Promise.resolve(), lastAt: 0, pending: 0 };
    this.chats.set(chat, gate);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const previous = gate.tail;
    // The next call of this chat waits for the previous one even when this one gives up early.
    gate.tail = previous.then(() => mine);
    gate.pending++;
    try {
      if (!(await settledUnlessAborted(previous, signal)))
        throw new NotSentError("deadline passed while waiting for this chat's previous message");
      const wait = gate.lastAt + this.chatIntervalMs - Date.now();
      if (wait > 0 && !(await sleepUnlessAborted(wait, signal)))
        throw new NotSentError("deadline passed while waiting for this chat's one-a-second limit");
      return await this.throughGlobal(signal, run, () => (gate.lastAt = Date.now()));
    } finally {
      gate.pending--;
      done();
      if (++this.calls % 1000 === 0) this.forgetIdleChats();
    }
  }

  private throughGlobal<T>(signal: AbortSignal | undefined, run: () => Promise<T>, onStart?: () => void): Promise<T> {
    if (signal?.aborted) return Promise.reject(new NotSentError("deadline passed before the call"));
    // No overall limit (benchmarks): nothing to space and, unless a 429 paused the token (then
    // calls wait in the queue as always), nothing to queue for; the queue's bookkeeping per call
    // was about 3% of a loaded bot's time.
    if (this.spacingMs === 0 && this.pausedUntil <= Date.now() && this.global.empty()) {
      onStart?.();
      return run();
    }
    return new Promise<T>((resolve, reject) => {
      let state: "queued" | "started" | "abandoned" = "queued";
      const onAbort = () => {
        // Still queued: give up without calling. Already started: the call itself sees the
        // signal, and its outcome (sent, or in doubt) is the caller's to hear.
        if (state !== "queued") return;
        state = "abandoned";
        reject(new NotSentError("deadline passed while queued behind other messages"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.global
        .schedule(async () => {
          if (state === "abandoned") return;
          // Bottleneck sets each queued call's timer when it is registered, so a process busy
          // for a moment would fire several at once. Each call therefore also reserves its start
          // from the time it really starts: a stall delays calls, never bunches them.
          const now = Date.now();
          const startAt = Math.max(now, this.nextStartAt);
          this.nextStartAt = startAt + this.spacingMs;
          // Still queued while it waits: an abort now gives up without calling (`onAbort`).
          if (startAt > now && !(await sleepUnlessAborted(startAt - now, signal))) return;
          if ((state as string) === "abandoned") return;
          state = "started";
          onStart?.();
          try {
            resolve(await run());
          } catch (error) {
            reject(error);
          } finally {
            signal?.removeEventListener("abort", onAbort);
          }
        })
        .catch(reject);
    });
  }

  private forgetIdleChats(): void {
    const cutoff = Date.now() - this.chatIntervalMs;
    for (const [chat, gate] of this.chats) if (gate.pending === 0 && gate.lastAt < cutoff) this.chats.delete(chat);
  }

  /** Releases the limiter's timers (at process end). */
  async stop(): Promise<void> {
    clearTimeout(this.resumeTimer);
    await this.global.stop({ dropWaitingJobs: false }).catch(() => undefined);
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Resolves true once `promise` settles, or false as soon as `signal` aborts. */
function settledUnlessAborted(promise: Promise<unknown>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return promise.then(() => true);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    });
  });
}

/** One token's client: the limiter every call shares and an `Api` with it installed. */
export interface TelegramClient {
  token: string;
  apiRoot: string;
  limiter: TelegramLimiter;
  api: Api;
  /** Installs the shared limiter on another `Api` of the same token (the bot's own). */
  install(api: Api): Api;
}

/** Builds the one client of a token; build it once per process (see jobs/runtime.ts). */
export function createTelegramClient(options: {
  token: string;
  apiRoot: string;
  limits?: TelegramLimits;
  /** Transformers that see every attempt, 429s included (installed before, so inside, the limiter). */
  inner?: Transformer[];
}) {
  const limiter = new TelegramLimiter(options.limits ?? TELEGRAM_LIMITS);
  const install = (api: Api) => {
    for (const transformer of options.inner ?? []) api.config.use(transformer);
    api.config.use(limiter.transformer);
    return api;
  };
  const client: TelegramClient = {
    token: options.token,
    apiRoot: options.apiRoot,
    limiter,
    // A hung connection ends after 30 s (in doubt); the outbox renews its lease meanwhile.
    api: install(new Api(options.token, { apiRoot: options.apiRoot, timeoutSeconds: 30 })),
    install,
  };
  return client;
}
