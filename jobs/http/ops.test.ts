// The operations endpoint in process, against real databases: /healthz's verdicts (parts,
// migrations, an unreachable database), the outbox counted at scrape time, job runs and LLM
// calls counted, and routes mounted by other parts served beside /healthz and /metrics.
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAIChatModel } from "../../bot/llm/openai-chat";
import { startLlmStandIn, type LlmStandIn } from "../../bot/slack/testing/llm-stand-in";
import { loadConfig, type Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { enqueueMessages } from "../../core/messaging/outbox";
import { checkHealth, PartRegistry } from "../../core/ops/health";
import { instrumentChatModel } from "../../core/ops/instrumented-chat-model";
import { createBlankPGlite, createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { freePort } from "../../test/helpers/campaign-fixture";
import type { JobDefinition } from "../job-registry";
import { runJobSlot } from "../scheduler";
import { startOps, type Ops } from "./ops";
import { sendJson } from "./ops-server";

/** A stand-in for a route another part mounts (e.g. the order feed's `POST /v1/orders`). */
async function ordersRoute(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.url !== "/v1/orders" || req.method !== "POST") return false;
  sendJson(res, 202, { accepted: true });
  return true;
}

async function failingRoute(req: IncomingMessage): Promise<boolean> {
  if (req.url !== "/v1/broken") return false;
  throw new Error("secret detail that must not reach the client");
}

describeEachDatabase("ops endpoint", (kind) => {
  let db: Database;
  let config: Config;
  let ops: Ops;
  let base: string;
  let llm: LlmStandIn;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    config = loadConfig({ HTTP_PORT: String(await freePort()) });
    ops = await startOps({ config, db, log: silentLogger }, { routes: [ordersRoute, failingRoute] });
    base = ops.server!.url;
    llm = await startLlmStandIn();
  });
  afterAll(async () => {
    await llm?.close();
    await ops?.close();
    await db?.close();
  });

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it("is healthy while every part runs or is off, and 503 naming the part that failed", async () => {
    ops.parts.set("bot", "off", "TELEGRAM_BOT_TOKEN not set");
    ops.parts.set("scheduler", "starting");
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    ops.parts.set("scheduler", "running");
    const ok = await fetch(`${base}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      status: "ok",
      database: { reachable: true, kind },
      migrations: { pending: [], drifted: [] },
      parts: { bot: { state: "off" }, scheduler: { state: "running" } },
    });
    ops.parts.set("slack", "failed", "could not reach Slack");
    const failed = await fetch(`${base}/healthz`);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({
      status: "unavailable",
      parts: { slack: { state: "failed", detail: "could not reach Slack" } },
    });
    ops.parts.set("slack", "off");
  });

  it("counts the outbox by kind and status at scrape time", async () => {
    await enqueueMessages(db, [
      { idempotencyKey: "ops:1", customerId: null, kind: "offer", payload: {} },
      { idempotencyKey: "ops:2", customerId: null, kind: "offer", payload: {} },
      { idempotencyKey: "ops:3", customerId: null, kind: "offer", payload: {} },
      { idempotencyKey: "ops:4", customerId: null, kind: "survey_nps", payload: {} },
    ]);
    await db.prisma.outboxMessage.updateMany({ where: { idempotencyKey: "ops:1" }, data: { status: "sent" } });
    await db.prisma.outboxMessage.updateMany({ where: { idempotencyKey: "ops:2" }, data: { status: "sending" } });
    const text = await scrape();
    expect(text).toMatch(/^retention_outbox_messages\{kind="offer",status="sent"\} 1$/m);
    expect(text).toMatch(/^retention_outbox_messages\{kind="offer",status="pending"\} 1$/m);
    expect(text).toMatch(/^retention_outbox_messages\{kind="survey_nps",status="pending"\} 1$/m);
    expect(text).toMatch(/^retention_outbox_depth\{status="pending"\} 2$/m);
    expect(text).toMatch(/^retention_outbox_depth\{status="sending"\} 1$/m);
  });

  it("counts job runs with their durations, and LLM calls with their latency", async () => {
    const ok: JobDefinition = { name: "ops-ok", cronFrom: () => "* * * * *", run: async () => ({}) };
    const bad: JobDefinition = {
      name: "ops-bad",
      cronFrom: () => "* * * * *",
      run: async () => {
        throw new Error("boom");
      },
    };
    const ctx = { config, db, log: silentLogger, now: () => new Date(), close: async () => {} };
    await runJobSlot(ctx, ok, "s1", { holder: "A", metrics: ops.metrics });
    await runJobSlot(ctx, ok, "s2", { holder: "A", metrics: ops.metrics });
    await runJobSlot(ctx, bad, "s1", { holder: "A", metrics: ops.metrics });

    llm.script([() => ({ content: "Hello" })]);
    const model = instrumentChatModel(
      new OpenAIChatModel({ apiKey: "sk-test", baseUrl: llm.baseUrl, model: "stand-in", timeoutMs: 5000 }),
      ops.metrics,
    );
    expect((await model.complete([{ role: "user", content: "hi" }])).text).toBe("Hello");
    const unreachable = instrumentChatModel(
      new OpenAIChatModel({ apiKey: "sk-test", baseUrl: "http://127.0.0.1:9/v1", model: "gone", timeoutMs: 5000 }),
      ops.metrics,
    );
    await expect(unreachable.complete([{ role: "user", content: "hi" }])).rejects.toThrow();

    const text = await scrape();
    expect(text).toMatch(/^retention_job_runs_total\{job="ops-ok",outcome="ok"\} 2$/m);
    expect(text).toMatch(/^retention_job_runs_total\{job="ops-bad",outcome="failed"\} 1$/m);
    expect(text).toMatch(/^retention_job_duration_seconds_count\{job="ops-ok",outcome="ok"\} 2$/m);
    expect(text).toMatch(/^retention_llm_calls_total\{model="openai:stand-in",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^retention_llm_calls_total\{model="openai:gone",outcome="error"\} 1$/m);
    expect(text).toMatch(/^retention_llm_latency_seconds_count\{model="openai:stand-in",outcome="ok"\} 1$/m);
  });

  it("serves mounted routes beside its own; a failing route gets 500 without its error", async () => {
    const posted = await fetch(`${base}/v1/orders`, { method: "POST", body: "{}" });
    expect(posted.status).toBe(202);
    expect(await posted.json()).toEqual({ accepted: true });
    const broken = await fetch(`${base}/v1/broken`);
    expect(broken.status).toBe(500);
    expect(await broken.text()).not.toMatch(/secret detail/);
    expect((await fetch(`${base}/healthz`)).headers.get("content-type")).toMatch(/json/);
  });
});

describe("health verdicts on a database that is not ready", () => {
  it("reports the pending migrations of an unmigrated database as unavailable", async () => {
    const db = await createBlankPGlite();
    try {
      const report = await checkHealth(db, new PartRegistry());
      expect(report.status).toBe("unavailable");
      expect(report.database.reachable).toBe(true);
      expect(report.migrations?.pending.length).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it("reports a database that fails as unreachable, with the reason", async () => {
    const db = await createTestDatabase("pglite");
    await db.close();
    const report = await checkHealth(db, new PartRegistry());
    expect(report.status).toBe("unavailable");
    expect(report.database.reachable).toBe(false);
    expect(report.database.error).toBeTruthy();
    expect(report.migrations).toBeNull();
  });

  it("refuses to start on a port already in use, naming it", async () => {
    const db = await createTestDatabase("pglite");
    const config = loadConfig({ HTTP_PORT: String(await freePort()) });
    const first = await startOps({ config, db, log: silentLogger });
    try {
      await expect(startOps({ config, db, log: silentLogger })).rejects.toThrow(
        new RegExp(`cannot serve health and metrics on 127\\.0\\.0\\.1:${config.ops.httpPort}`),
      );
    } finally {
      await first.close();
      await db.close();
    }
  });
});
