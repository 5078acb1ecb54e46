// The Telegram side of the product's metrics: a middleware that counts handled updates and an
// API transformer that counts 429 answers. Both only report to the core `Metrics` interface.
import type { Context, MiddlewareFn, Transformer } from "grammy";
import type { Metrics } from "../../core/ops/metrics";

/**
 * Counts each update once it went through the rest of the middleware (`ok`), or threw (`error`;
 * the error still reaches `bot.catch`). Install it first: `bot.use(countUpdates(metrics))`.
 */
export function countUpdates<C extends Context>(metrics: Metrics): MiddlewareFn<C> {
  return async (_ctx, next) => {
    try {
      await next();
    } catch (error) {
      metrics.updateHandled("telegram", "error");
      throw error;
    }
    metrics.updateHandled("telegram", "ok");
  };
}

/**
 * Counts every call Telegram answered with 429. Install it before the auto-retry transformer
 * (`api.config.use(countRateLimits(metrics))` first: the last installed is outermost), so each
 * retried attempt is counted too.
 */
export function countRateLimits(metrics: Metrics): Transformer {
  return async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (!result.ok && result.error_code === 429) metrics.rateLimited("telegram", method);
    return result;
  };
}
