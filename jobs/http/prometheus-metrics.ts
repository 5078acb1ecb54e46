// The Metrics interface on prom-client, plus the outbox counts read from the database at each
// scrape. One registry per process (not prom-client's global one), so tests can build several.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../../core/db/client";
import type { Logger } from "../../core/log";
import type { Metrics } from "../../core/ops/metrics";
import { readOutboxCounts } from "../../core/ops/outbox-counts";

/** Statuses of an outbox row that is still waiting to be delivered. */
const QUEUED_STATUSES = ["pending", "sending"] as const;

export interface PrometheusMetrics {
  metrics: Metrics;
  registry: Registry;
  /** The Prometheus text exposition, the outbox read from the database first. */
  scrape(): Promise<string>;
}

/** Metrics on a fresh registry; with `db`, each scrape also reads the outbox counts. */
export function createPrometheusMetrics(options: { db?: Database; log: Logger }): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "retention_" });
  const registers = [registry];

  const updates = new Counter({
    name: "retention_updates_handled_total",
    help: "Inbound updates (Telegram updates, Slack events) handled, by channel and outcome",
    labelNames: ["channel", "outcome"] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: "retention_rate_limited_total",
    help: "API calls a provider answered with 429 Too Many Requests, by provider and method",
    labelNames: ["provider", "method"] as const,
    registers,
  });
  const jobRuns = new Counter({
    name: "retention_job_runs_total",
    help: "Job runs finished in this process, by job and outcome (ok, failed, lost: stopped after losing its lease)",
    labelNames: ["job", "outcome"] as const,
    registers,
  });
  const jobDuration = new Histogram({
    name: "retention_job_duration_seconds",
    help: "Duration of job runs in this process, by job and outcome",
    labelNames: ["job", "outcome"] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers,
  });
  const llmCalls = new Counter({
    name: "retention_llm_calls_total",
    help: "Chat model calls, by model and outcome",
    labelNames: ["model", "outcome"] as const,
    registers,
  });
  const llmLatency = new Histogram({
    name: "retention_llm_latency_seconds",
    help: "Chat model call latency, by model and outcome",
    labelNames: ["model", "outcome"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const outboxMessages = new Gauge({
    name: "retention_outbox_messages",
    help: "Outbox rows by message kind and status (sent, failed, skipped, unreachable are outcomes), read at scrape time",
    labelNames: ["kind", "status"] as const,
    registers,
  });
  const outboxDepth = new Gauge({
    name: "retention_outbox_depth",
    help: "Outbox rows waiting for delivery, by status, read at scrape time",
    labelNames: ["status"] as const,
    registers,
  });
  const scrapeErrors = new Counter({
    name: "retention_metrics_database_errors_total",
    help: "Scrapes whose database read failed (the outbox gauges are then absent)",
    registers,
  });

  async function refreshOutbox(): Promise<void> {
    outboxMessages.reset();
    outboxDepth.reset();
    if (!options.db) return;
    try {
      const counts = await readOutboxCounts(options.db);
      const depth = new Map<string, number>(QUEUED_STATUSES.map((s) => [s, 0]));
      for (const { kind, status, count } of counts) {
        outboxMessages.set({ kind, status }, count);
        if (depth.has(status)) depth.set(status, depth.get(status)! + count);
      }
      for (const [status, count] of depth) outboxDepth.set({ status }, count);
    } catch (error) {
      scrapeErrors.inc();
      options.log.warn({ err: error }, "metrics: reading the outbox failed");
    }
  }

  return {
    registry,
    metrics: {
      updateHandled: (channel, outcome) => updates.inc({ channel, outcome }),
      rateLimited: (provider, method) => rateLimited.inc({ provider, method }),
      jobRun(job, outcome, seconds) {
        jobRuns.inc({ job, outcome });
        jobDuration.observe({ job, outcome }, seconds);
      },
      llmCall(model, outcome, seconds) {
        llmCalls.inc({ model, outcome });
        llmLatency.observe({ model, outcome }, seconds);
      },
    },
    async scrape() {
      await refreshOutbox();
      return registry.metrics();
    },
  };
}
