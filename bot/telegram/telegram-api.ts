// One grammY `Api` set up the way every outgoing call must go: to `TELEGRAM_API_ROOT`, throttled
// to Telegram's limits (about 30 messages a second overall, one a second per chat), and with
// 429 `retry_after` honoured by waiting and trying again.
import { autoRetry } from "@grammyjs/auto-retry";
import { apiThrottler, type APIThrottlerOptions } from "@grammyjs/transformer-throttler";
import { Api } from "grammy";

export interface TelegramApiOptions {
  token: string;
  apiRoot: string;
  /** false turns throttling off (only for tests that measure something else); default Telegram's limits. */
  throttle?: APIThrottlerOptions | false;
  /** Longest `retry_after` we wait for inside a call; longer waits are handed back to the caller. */
  maxRetryDelaySeconds?: number;
  /**
   * Retry network failures inside the call. Right for the bot's own replies (a duplicate reply
   * beats a lost one); wrong for the outbox channel, whose caller decides (a marketing message
   * in doubt is never re-sent).
   */
  retryNetworkErrors?: boolean;
}

/** Installs the throttler and auto-retry on an `Api` (the bot's own, or a standalone one). */
export function installTransformers(
  api: Api,
  options: Pick<TelegramApiOptions, "throttle" | "maxRetryDelaySeconds" | "retryNetworkErrors">,
): Api {
  // Order matters: the throttler runs outermost, so a retried call is throttled again.
  api.config.use(
    autoRetry({
      maxRetryAttempts: 3,
      maxDelaySeconds: options.maxRetryDelaySeconds ?? 30,
      rethrowHttpErrors: !options.retryNetworkErrors,
    }),
  );
  if (options.throttle !== false) api.config.use(apiThrottler(options.throttle ?? {}));
  return api;
}

export function createTelegramApi(options: TelegramApiOptions): Api {
  return installTransformers(new Api(options.token, { apiRoot: options.apiRoot }), options);
}
