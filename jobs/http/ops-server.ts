// The operations endpoint of a long-running process: `GET /healthz` and `GET /metrics`, plus any
// routes other parts mount on it (e.g. an order feed). Plain node:http: a handler answers and
// returns true, or returns false when the request is not its route; the first taker wins.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../core/log";
import type { HealthReport } from "../../core/ops/health";

/** Answers the request and resolves true, or resolves false without touching it (not its route). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface OpsServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? "/", "http://localhost").pathname;
}

/** A handler for `path` that answers GET and HEAD, and 405 to any other method. */
function getRoute(path: string, answer: (req: IncomingMessage, res: ServerResponse) => Promise<void>): RouteHandler {
  return async (req, res) => {
    if (pathOf(req) !== path) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendJson(res, 405, { error: `${req.method} is not allowed on ${path}: use GET` });
      return true;
    }
    await answer(req, res);
    return true;
  };
}

/** `GET /healthz`: the report as JSON, 200 when healthy, 503 otherwise. */
export function healthRoute(check: () => Promise<HealthReport>): RouteHandler {
  return getRoute("/healthz", async (_req, res) => {
    const report = await check();
    sendJson(res, report.status === "ok" ? 200 : 503, report);
  });
}

/** `GET /metrics`: the Prometheus text exposition. */
export function metricsRoute(scrape: () => Promise<string>, contentType: string): RouteHandler {
  return getRoute("/metrics", async (_req, res) => {
    const body = await scrape();
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
    res.end(body);
  });
}

/**
 * Listens on `host:port` and offers each request to `routes` in order. A request no route takes
 * gets 404; a route that throws gets 500 (the error logged, not sent).
 * @throws when the port cannot be bound (in use, not permitted), naming it.
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  routes: RouteHandler[];
  log: Logger;
}): Promise<OpsServer> {
  const { log, routes } = options;
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        for (const route of routes) if (await route(req, res)) return;
        sendJson(res, 404, { error: `no route for ${req.method} ${pathOf(req)}`, routes: ["/healthz", "/metrics"] });
      } catch (error) {
        log.error({ err: error, method: req.method, path: pathOf(req) }, "ops HTTP route failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error; see the process log" });
        else res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(new Error(`cannot serve health and metrics on ${options.host}:${options.port}: ${error.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  log.info({ host: options.host, port }, "health and metrics served");
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
