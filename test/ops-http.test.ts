// The running `retention start` process answers GET /healthz and GET /metrics on HTTP_PORT:
// a real process on a fresh embedded database folder, no tokens (dry run), the scheduler on.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { exited, freePort, spawnRetention } from "./helpers/campaign-fixture";
import { createMigratedDataDir } from "./helpers/db";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value; the test's own timeout bounds the wait. */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(100);
  }
}

describe("retention start serves health and metrics", () => {
  let dataDir: string;
  let child: ChildProcess;
  let base: string;
  let output = "";
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "ops-http-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      DATA_DIR: dataDir,
      DATABASE_URL: "",
      TELEGRAM_BOT_TOKEN: "",
      SLACK_BOT_TOKEN: "",
      OPENAI_API_KEY: "",
      LOG_LEVEL: "info",
      SCHEDULER_ENABLED: "true",
      CRON_DISPATCH: "* * * * * *",
      HTTP_PORT: String(port),
    };
    await createMigratedDataDir(dataDir);
    child = spawnRetention(["start"], env);
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited(child);
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers /healthz with 200 and each part's state once started", async () => {
    const report = await until(async () => {
      const res = await fetch(`${base}/healthz`);
      if (res.status !== 200) return undefined;
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      return (await res.json()) as {
        status: string;
        database: { reachable: boolean; kind: string };
        migrations: { pending: string[]; applied: number };
        parts: Record<string, { state: string; detail?: string }>;
      };
    });
    expect(report.status).toBe("ok");
    expect(report.database).toMatchObject({ reachable: true, kind: "pglite" });
    expect(report.migrations.pending).toEqual([]);
    expect(report.migrations.applied).toBeGreaterThan(0);
    expect(report.parts.bot).toMatchObject({ state: "off", detail: "TELEGRAM_BOT_TOKEN not set" });
    expect(report.parts.slack?.state).toBe("off");
    expect(report.parts.scheduler?.state).toBe("running");
    expect(report.parts.dispatcher).toMatchObject({ state: "running", detail: expect.stringMatching(/dry run/) });
  });

  it("answers /metrics in the Prometheus text format, with job runs, outbox depth and the other series", async () => {
    const text = await until(async () => {
      const res = await fetch(`${base}/metrics`);
      if (res.status !== 200) return undefined;
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      return /retention_job_runs_total\{job="dispatch",outcome="ok"\} [1-9]/.test(body) ? body : undefined;
    });
    expect(text).toMatch(/retention_job_duration_seconds_count\{job="dispatch",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/^retention_outbox_depth\{status="pending"\} 0$/m);
    expect(text).toMatch(/^retention_outbox_depth\{status="sending"\} 0$/m);
    for (const family of [
      "retention_updates_handled_total",
      "retention_rate_limited_total",
      "retention_llm_calls_total",
      "retention_llm_latency_seconds",
      "retention_outbox_messages",
      "retention_process_resident_memory_bytes",
    ])
      expect(text).toContain(`# TYPE ${family} `);
  });

  it("says what it serves for an unknown path and refuses other methods", async () => {
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ routes: ["/healthz", "/metrics"] });
    const post = await fetch(`${base}/healthz`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("stops cleanly on SIGTERM and stops serving", async () => {
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    expect(output).not.toMatch(/node-cron error|ops HTTP route failed/);
  });
});
