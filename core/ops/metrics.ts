// What the product counts about itself, as core sees it: a small interface with one method per
// fact. The Prometheus implementation lives at the edge (jobs/http/prometheus-metrics.ts); with
// no metrics endpoint configured, `noMetrics` counts nothing.

/** How a scheduled run ended: `lost` when its lease was lost while it ran and it was stopped. */
export type JobRunOutcome = "ok" | "failed" | "lost";

export interface Metrics {
  /** One inbound update (a Telegram update, a Slack event) was handled, or its handler failed. */
  updateHandled(channel: "telegram" | "slack", outcome: "ok" | "error"): void;
  /** A provider answered 429 Too Many Requests to one API call. */
  rateLimited(provider: "telegram" | "slack", method: string): void;
  /** A scheduled or manual job run ended after `seconds`. */
  jobRun(job: string, outcome: JobRunOutcome, seconds: number): void;
  /** One call to a chat model ended after `seconds`. */
  llmCall(model: string, outcome: "ok" | "error", seconds: number): void;
}

/** Counts nothing: the default wherever no metrics endpoint is configured. */
export const noMetrics: Metrics = {
  updateHandled: () => undefined,
  rateLimited: () => undefined,
  jobRun: () => undefined,
  llmCall: () => undefined,
};

/** Seconds elapsed since `startedMs`, read from the process's monotonic clock. */
export function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
