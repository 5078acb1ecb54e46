// The live feed on a real node:http server: good, repeated, malformed and unauthenticated requests.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../../core/db/client";
import { createIngestRoutes } from "./routes";

describeEachDatabase("live feed", (kind) => {
  let db: Database;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    const routes = createIngestRoutes({
      db,
      apiKeys: ["k-test-1"],
      timeZone: "UTC",
      now: () => new Date("2026-12-02T12:00:00Z"),
    });
    server = createServer((req, res) => {
      void routes(req, res).then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  const post = (path: string, body: unknown, key: string | null = "k-test-1") =>
    fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("takes orders, customers and refunds; a repeated request changes nothing; bad records get the import's reasons", async () => {
    const orders = [
      { order_id: "w1", customer_id: "17850.0", date: "2026-11-30T10:00:00Z", amount: "19.90" },
      { order_id: "w2", customer_id: "c2", date: "2026-12-01T09:00:00Z", quantity: 2, unit_price: 5 },
      { order_id: "w3", customer_id: "c2", date: "not a date", amount: 5 },
      { order_id: "w4", customer_id: "", date: "2026-12-01T11:00:00Z", amount: 7 },
    ];
    const first = await post("/v1/orders", orders);
    expect(first.status).toBe(200);
    const body = (await first.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ received: 4, written: { inserted: 2 }, anonymousSales: { inserted: 1 } });
    expect(body.rejected).toEqual([{ index: 2, reason: expect.stringMatching(/date "not a date" is not a date/) }]);
    const again = (await (await post("/v1/orders", orders)).json()) as Record<string, unknown>;
    expect(again).toMatchObject({ written: { inserted: 0, updated: 0, unchanged: 2 } });
    const w2 = await db.prisma.purchase.findUniqueOrThrow({ where: { externalId: "w2" }, include: { customer: true } });
    expect(Number(w2.amount)).toBe(10);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "17850" } })).marketingConsent).toBe(
      false,
    );

    const refund = await post("/v1/refunds", [
      { external_id: "r1", customer_id: "c2", order_id: "w2", amount: "4.00", refunded_at: "2026-12-01T12:00:00Z" },
      { external_id: "r2", amount: "-3", refunded_at: "2026-12-01T12:00:00Z" },
    ]);
    expect(refund.status).toBe(200);
    expect(await refund.json()).toMatchObject({
      written: { inserted: 1 },
      rejected: [{ index: 1, reason: expect.stringMatching(/not a positive number/) }],
    });
    const stats = await db.prisma.customerPurchaseStats.findFirstOrThrow({ where: { customer: { externalId: "c2" } } });
    expect(Number(stats.revenue)).toBe(6); // 10 - 4: net

    const customers = await post("/v1/customers", [
      { customer_id: "c2", email: "c2@example.com", marketing_consent: "yes" },
      { customer_id: "c3", email: "nope" },
    ]);
    expect(await customers.json()).toMatchObject({
      written: { updated: 1 },
      rejected: [{ index: 1, reason: "email is not an email address" }],
    });
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "c2" } })).marketingConsent).toBe(true);
  });

  it("refuses unauthenticated and malformed requests and changes nothing; serves its OpenAPI document", async () => {
    const before = await db.prisma.purchase.count();
    const good = [{ order_id: "x1", customer_id: "c9", date: "2026-12-01T10:00:00Z", amount: 1 }];
    expect((await post("/v1/orders", good, null)).status).toBe(401);
    expect((await post("/v1/orders", good, "wrong-key")).status).toBe(401);
    const malformed = await post("/v1/orders", "[{not json");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: expect.stringMatching(/not valid JSON/) });
    expect((await post("/v1/orders", { order_id: "x1" })).status).toBe(400);
    const allBad = await post("/v1/orders", [{ order_id: "x2", customer_id: "c9", date: "2026-12-01", amount: "abc" }]);
    expect(allBad.status).toBe(422);
    expect(await db.prisma.purchase.count()).toBe(before);
    const doc = await fetch(`${base}/v1/openapi.json`);
    expect(doc.status).toBe(200);
    expect(Object.keys(((await doc.json()) as { paths: object }).paths)).toEqual([
      "/v1/orders",
      "/v1/customers",
      "/v1/refunds",
    ]);
    expect((await fetch(`${base}/health`)).status).toBe(404); // not its path: left to the server
  });
});
