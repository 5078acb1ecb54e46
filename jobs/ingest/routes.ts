// The live feed over HTTP: POST /v1/orders, /v1/customers and /v1/refunds take JSON arrays with
// an API key (Authorization: Bearer KEY, or X-Api-Key: KEY); GET /v1/openapi.json describes them.
// Only translation here: the checks and writes are core/import/ingest.ts.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErasureSettings } from "../../core/consent/suppression";
import type { Database } from "../../core/db/client";
import { checkRecords, ingest, type IngestKind } from "../../core/import/ingest";

export interface IngestDeps {
  db: Database;
  /** Accepted API keys; with none, every request is refused with 503. */
  apiKeys: readonly string[];
  timeZone: string;
  now: () => Date;
  /** The erasure suppression list's settings: records of people who asked to be forgotten are skipped. */
  erasure?: ErasureSettings;
  maxRecords?: number;
  maxBodyBytes?: number;
}

const PATHS: Record<string, IngestKind> = {
  "/v1/orders": "orders",
  "/v1/customers": "customers",
  "/v1/refunds": "refunds",
};

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function authorized(req: IncomingMessage, keys: readonly string[]): boolean {
  const header = req.headers.authorization;
  const given = header?.startsWith("Bearer ")
    ? header.slice(7).trim()
    : (req.headers["x-api-key"] as string | undefined);
  if (!given) return false;
  const a = Buffer.from(given);
  return keys.some((k) => {
    const b = Buffer.from(k);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The feed's request handler. Resolves false for a path that is not its own (the caller's
 * server tries its other routes), true once it has answered.
 */
export function createIngestRoutes(deps: IngestDeps): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const maxRecords = deps.maxRecords ?? 1000;
  const maxBodyBytes = deps.maxBodyBytes ?? 5 * 1024 * 1024;
  return async (req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    if (path === "/v1/openapi.json" && req.method === "GET") {
      send(res, 200, OPENAPI);
      return true;
    }
    const kind = PATHS[path];
    if (!kind) return false;
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      send(res, 405, { error: `${path} takes POST with a JSON array` });
      return true;
    }
    if (deps.apiKeys.length === 0) {
      send(res, 503, { error: "the feed is off: set INGEST_API_KEYS to accept pushed data" });
      return true;
    }
    if (!authorized(req, deps.apiKeys)) {
      send(res, 401, { error: "missing or unknown API key: send Authorization: Bearer <key>" });
      return true;
    }
    const text = await readBody(req, maxBodyBytes);
    if (text === null) {
      send(res, 413, { error: `the body is over ${maxBodyBytes} bytes: send fewer records per request` });
      return true;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      send(res, 400, { error: "the body is not valid JSON: send a JSON array of objects" });
      return true;
    }
    const problem = checkRecords(body, maxRecords);
    if (problem) {
      send(res, 400, { error: problem });
      return true;
    }
    const result = await ingest(deps.db, kind, body as Record<string, unknown>[], {
      timeZone: deps.timeZone,
      now: deps.now(),
      erasure: deps.erasure,
    });
    send(res, result.rejected.length === result.received ? 422 : 200, result);
    return true;
  };
}

const record = (properties: Record<string, unknown>, required: string[]) => ({
  type: "array",
  maxItems: 1000,
  items: { type: "object", required, properties, additionalProperties: true },
});
const result = {
  description:
    "Counts by outcome; rejected records by position with the reason (422 when all were rejected); skippedErased: records of customers who asked to be forgotten, accepted and not written",
  content: { "application/json": { schema: { type: "object" } } },
};
const op = (summary: string, schema: unknown) => ({
  summary,
  security: [{ bearer: [] }],
  requestBody: { required: true, content: { "application/json": { schema } } },
  responses: {
    "200": result,
    "400": { description: "Not a JSON array of objects" },
    "401": { description: "Missing or unknown API key" },
    "422": result,
  },
});

/** The OpenAPI 3.1 description served at GET /v1/openapi.json. */
export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "Retention bot live feed", version: "1.0.0" },
  components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  paths: {
    "/v1/orders": {
      post: op(
        "Orders or order lines, idempotent on order_id; same columns and checks as `retention import orders`",
        record(
          {
            order_id: { type: "string" },
            customer_id: { type: "string", description: "empty: an anonymous sale" },
            email: { type: "string" },
            date: { type: "string", format: "date-time" },
            amount: { type: ["number", "string"] },
            quantity: { type: ["number", "string"] },
            unit_price: { type: ["number", "string"] },
            status: { type: "string", description: "cancelled / refunded: refunded in full" },
            refunded_amount: { type: ["number", "string"] },
            category: { type: "string" },
          },
          ["order_id", "date"],
        ),
      ),
    },
    "/v1/customers": {
      post: op(
        "Customers, idempotent on customer_id; marketing consent only from a consent field",
        record(
          {
            customer_id: { type: "string" },
            name: { type: "string" },
            email: { type: "string" },
            phone: { type: "string" },
            locale: { type: "string" },
            time_zone: { type: "string" },
            marketing_consent: { type: ["boolean", "string"] },
          },
          ["customer_id"],
        ),
      ),
    },
    "/v1/refunds": {
      post: op(
        "Refunds, idempotent on external_id",
        record(
          {
            external_id: { type: "string" },
            customer_id: { type: "string" },
            order_id: { type: "string" },
            amount: { type: ["number", "string"], exclusiveMinimum: 0 },
            refunded_at: { type: "string", format: "date-time" },
          },
          ["external_id", "amount", "refunded_at"],
        ),
      ),
    },
  },
} as const;
