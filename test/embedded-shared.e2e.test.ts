// The README's usage, for real: `retention start` (the bot on the Telegram emulator, the scheduler
// on) on the default embedded folder, and beside it an operator running `retention link`,
// `retention import orders`, `retention run survey` and `retention run dispatch` as separate
// processes, some killed with SIGKILL mid-command. Every write a command reported is visible to
// the bot at once, nothing committed is lost, and afterwards every index agrees with its table.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { amcheck } from "@electric-sql/pglite/contrib/amcheck";
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newPGlite } from "../core/db/client";
import { botMessages, emulatorUser, startEmulator } from "../bot/telegram/test-harness";
import { TEST_NODE_FLAGS } from "./helpers/campaign-fixture";
import { createMigratedDataDir } from "./helpers/db";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOKEN = "2000:shared-embedded-token";
const CUSTOMERS = 12;
// Every round links a chat, imports, runs a survey and a dispatch; the import is killed in odd
// rounds, the survey in rounds 2 and 5, the dispatch in rounds 1 and 4: in six rounds, each
// combination of those kills happens once.
const ROUNDS = 6;

let server: TelegramServer;
let dataDir: string;
let env: Record<string, string>;
let start: ChildProcess | null = null;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a `retention` command; with `killWhen`, SIGKILLs it once its output matches (or at once for ""). */
function retention(args: string[], killWhen?: RegExp): Promise<Run> {
  const child = spawn(process.execPath, ["jobs/retention.mjs", ...args], { cwd: ROOT, env });
  let stdout = "";
  let stderr = "";
  const check = () => {
    if (killWhen && killWhen.test(stdout + stderr)) child.kill("SIGKILL");
  };
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    check();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  return new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, limitMs = 240_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function orderFile(round: number): string {
  const file = path.join(dataDir, `orders-${round}.csv`);
  const lines = ["order_id,customer_id,date,amount"];
  for (let i = 0; i < 300; i++) {
    const customer = `C${String(1 + (i % CUSTOMERS)).padStart(3, "0")}`;
    lines.push(`R${round}-${i},${customer},2026-11-${String(1 + (i % 28)).padStart(2, "0")},${10 + (i % 17)}.50`);
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

beforeAll(async () => {
  server = await startEmulator();
  dataDir = mkdtempSync(path.join(os.tmpdir(), "shared-embedded-"));
  env = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: "",
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_BOT_USERNAME: "shared_test_bot",
    TELEGRAM_API_ROOT: server.config.apiURL,
    SCHEDULER_ENABLED: "true",
    QUIET_HOURS_START: "0",
    QUIET_HOURS_END: "0",
    SURVEY_CAP_DAYS: "0",
  };
  await createMigratedDataDir(dataDir);
  const customers = path.join(dataDir, "customers.csv");
  const rows = ["customer_id,name,marketing_consent"];
  for (let i = 1; i <= CUSTOMERS; i++) rows.push(`C${String(i).padStart(3, "0")},Customer ${i},true`);
  writeFileSync(customers, `${rows.join("\n")}\n`);
  expect((await retention(["import", "customers", customers])).code).toBe(0);
  start = spawn(process.execPath, [...TEST_NODE_FLAGS, "jobs/retention.mjs", "start"], {
    cwd: ROOT,
    env,
    stdio: "ignore",
  });
}, 600_000);

afterAll(async () => {
  if (start && start.exitCode === null) {
    start.kill("SIGKILL");
    await new Promise((r) => start!.once("exit", r));
  }
  await server?.stop();
});

describe("retention start with CLI commands beside it on the default embedded folder", () => {
  it("sees every reported write at once, loses nothing committed, and leaves every index whole", async () => {
    const reportedOrders = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const customer = `C${String(1 + (round % CUSTOMERS)).padStart(3, "0")}`;
      // The deep link the CLI just printed links the chat in the running bot.
      const link = await retention(["link", customer]);
      expect(link.code, link.stderr).toBe(0);
      const token = /start=(\S+)/.exec(link.stdout)![1]!;
      const chatId = 700_000 + round;
      await emulatorUser(server, TOKEN, chatId).command(`/start ${token}`);
      const reply = await until("the link reply", () => botMessages(server, TOKEN, chatId)[0]);
      expect(reply.text).not.toMatch(/don't recognise/);

      // Every other round the import is killed mid-way; the next run of the same file completes it.
      const file = orderFile(round);
      if (round % 2 === 1) {
        const killed = await retention(["import", "orders", file], /./);
        expect(killed.signal === "SIGKILL" || killed.code === 0).toBe(true);
      }
      const imported = await retention(["import", "orders", file]);
      expect(imported.code, imported.stderr).toBe(0);
      for (let i = 0; i < 300; i++) reportedOrders.add(`R${round}-${i}`);

      const survey = await retention(["run", "survey"], round % 3 === 2 ? /./ : undefined);
      expect(survey.code === 0 || survey.signal === "SIGKILL", survey.stderr).toBe(true);
      const dispatch = await retention(["run", "dispatch"], round % 3 === 1 ? /./ : undefined);
      expect(dispatch.code === 0 || dispatch.signal === "SIGKILL", dispatch.stderr).toBe(true);
    }
    // The long-running process is still up and answering after all that.
    expect(start!.exitCode).toBeNull();
    const probeChat = 799_999;
    await emulatorUser(server, TOKEN, probeChat).command("/help");
    await until("the bot to answer /help", () => botMessages(server, TOKEN, probeChat)[0]);

    // Stop it, then check the folder with PostgreSQL's amcheck: every heap row is in every index.
    start!.kill("SIGTERM");
    await new Promise((r) => start!.once("exit", r));
    const check = newPGlite(path.join(dataDir, "pglite"), { extensions: { amcheck } });
    await check.waitReady;
    try {
      await check.exec("CREATE EXTENSION IF NOT EXISTS amcheck");
      const indexes = await check.query<{ index: string }>(
        `SELECT c.relname AS index FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE a.amname = 'btree' AND n.nspname = 'public'`,
      );
      expect(indexes.rows.length).toBeGreaterThan(10);
      for (const { index } of indexes.rows) await check.query(`SELECT bt_index_check('"${index}"'::regclass, true)`);
      const stored = await check.query<{ external_id: string }>("SELECT external_id FROM purchases");
      const present = new Set(stored.rows.map((r) => r.external_id));
      const missing = [...reportedOrders].filter((id) => !present.has(id));
      expect(missing).toEqual([]);
      const links = await check.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM customers WHERE telegram_chat_id IS NOT NULL",
      );
      expect(links.rows[0]!.n).toBe(Math.min(ROUNDS, CUSTOMERS));
    } finally {
      await check.close();
    }
  }, 1_800_000);
});
