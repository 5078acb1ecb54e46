// Operations for one long-running process: the part registry, the metrics, and (when HTTP_PORT
// is set) the server answering /healthz, /metrics and any routes mounted by other parts.
import type { Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import { readMigrations } from "../../core/db/migrate";
import type { Logger } from "../../core/log";
import { checkHealth, PartRegistry } from "../../core/ops/health";
import { noMetrics, type Metrics } from "../../core/ops/metrics";
import { healthRoute, metricsRoute, startOpsServer, type OpsServer, type RouteHandler } from "./ops-server";
import { createPrometheusMetrics } from "./prometheus-metrics";

export interface Ops {
  /** Counts into Prometheus when the endpoint is served, into nothing otherwise. */
  metrics: Metrics;
  /** Each part's state, as /healthz reports it. */
  parts: PartRegistry;
  /** The running server, or undefined when HTTP_PORT is unset. */
  server: OpsServer | undefined;
  close(): Promise<void>;
}

/**
 * Builds the metrics and part registry and, when `config.ops.httpPort` is set, serves them.
 * `routes` are offered each request before /healthz and /metrics (e.g. `POST /v1/orders`).
 * @throws when the port cannot be bound.
 */
export async function startOps(
  deps: { config: Config; db: Database; log: Logger },
  options: { routes?: RouteHandler[] } = {},
): Promise<Ops> {
  const parts = new PartRegistry();
  const port = deps.config.ops.httpPort;
  if (port === undefined) return { metrics: noMetrics, parts, server: undefined, close: async () => {} };
  const prometheus = createPrometheusMetrics({ db: deps.db, log: deps.log });
  const migrations = readMigrations(); // the folder this build ships, read once
  const server = await startOpsServer({
    host: deps.config.ops.httpHost,
    port,
    log: deps.log,
    routes: [
      ...(options.routes ?? []),
      healthRoute(() => checkHealth(deps.db, parts, { migrations })),
      metricsRoute(() => prometheus.scrape(), prometheus.registry.contentType),
    ],
  });
  return { metrics: prometheus.metrics, parts, server, close: () => server.close() };
}
