// Benchmark: 1,000 customers talking to the bot at once through the Bot API emulator.
//   npm run bench:telegram                       PGlite (embedded), then a PostgreSQL 15 server
//   npm run bench:telegram -- --customers 1000 --db pglite|postgres|both --real-limits
// Each customer sends /help and then a free-text message (which opens a ticket), all customers
// at the same time. Printed: p50/p95/max latency from the customer's message reaching the
// emulator to the bot's reply reaching it (polling + handling + database), and checks that no
// update was lost or handled twice (exactly two replies per chat, one processed_updates row per
// update, one ticket per customer). Telegram's own limits (30 msg/s overall) are off by default
// because they would measure the throttle, not the bot; --real-limits turns them on.
// The same load is also answered by a bare grammY echo bot (no database, no middleware) on the
// same emulator in the same run, and for each database one line compares the two:
//   RATIO handled/echo <database> = 0.NN    (updates/s of the product's bot / the echo bot's)
// The product's bot polls as `retention start` does (each batch kept before it is confirmed), and
// every database statement it makes is counted and timed: per update, by what it does.
import type TelegramServer from "telegram-test-api";
import { run } from "@grammyjs/runner";
import { Bot } from "grammy";
import { buildTelegramBot } from "../bot/telegram/bot";
import { startPolling } from "../bot/telegram/polling";
import { emulatorUser, startEmulator } from "../bot/telegram/test-harness";
import { loadConfig } from "../core/config/config";
import { newPGlite, openDatabase, wrapPGlite, type Database } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { Writable } from "node:stream";
import { createLogger } from "../core/log";
import { startPostgres } from "../test/postgres-server";

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const customers = Number(arg("customers", "1000"));
const which = arg("db", "both");
const realLimits = args.includes("--real-limits");
const TOKEN = "4242:bench";
const ECHO_TOKEN = "4343:bench-echo";
const FIRST_CHAT = 500_000;
const ECHO_FIRST_CHAT = 800_000;

function pool(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (active >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

async function retry<T>(task: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await task();
    } catch (error) {
      // A reset shows as the error's code, or (grammY's HttpError) as the code of the error it wraps.
      const code = (error as { code?: string }).code ?? (error as { error?: { code?: string } }).error?.code;
      if (i >= attempts || code !== "ECONNRESET") throw error;
      await new Promise((r) => setTimeout(r, 50 * i));
    }
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface LoadResult {
  elapsedMs: number;
  latencies: number[];
  /** Chats whose reply count differs from their update count. */
  wrongReplies: number;
  replies: number;
  updateIds: string[];
}

/**
 * How many replies `token`'s bot has sent so far, counted as they arrive: the wait loop asks every
 * 20 ms, and filtering the emulator's whole store each time cost the bot measured second about 3%
 * of the process's CPU (the store then also held the echo's messages).
 */
function countReplies(server: TelegramServer, token: string): () => number {
  let store = server.storage.botMessages;
  let seen = 0;
  let count = 0;
  return () => {
    // The emulator replaces its array when it drops old messages: count that one afresh.
    if (server.storage.botMessages !== store) [store, seen, count] = [server.storage.botMessages, 0, 0];
    for (; seen < store.length; seen++) if (store[seen]!.botToken === token) count++;
    return count;
  };
}

/** Every customer sends /help and a free-text message to `token`'s bot; waits for all replies. */
async function driveLoad(server: TelegramServer, token: string, firstChat: number): Promise<LoadResult> {
  const ofToken = () => server.storage.botMessages.filter((m) => m.botToken === token);
  const replyCount = countReplies(server, token);
  const users = Array.from({ length: customers }, (_, i) => emulatorUser(server, token, firstChat + i + 1));
  const started = Date.now();
  // All customers are active at once; the emulator's HTTP server resets connections beyond a
  // few hundred simultaneous posts, so at most 100 client posts are in flight (retried on reset).
  const limit = pool(100);
  await Promise.all(
    users.map(async (user) => {
      await limit(() => retry(() => user.command("/help")));
      await limit(() => retry(() => user.text(`My order ${user.chatId} arrived damaged, please help`)));
    }),
  );
  const expected = customers * 2;
  const deadline = Date.now() + 600_000;
  let lastReport = Date.now();
  let lastCount = 0;
  let lastProgress = Date.now();
  while (replyCount() < expected && Date.now() < deadline && Date.now() - lastProgress < 30_000) {
    const count = replyCount();
    if (count !== lastCount) {
      lastCount = count;
      lastProgress = Date.now();
    }
    await new Promise((r) => setTimeout(r, 20));
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      process.stderr.write(
        `  ... ${count}/${expected} replies after ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      );
    }
  }
  // The last reply's arrival ends the run (not the polling loop's next tick).
  const replies = ofToken();
  const last = Math.max(...replies.map((m) => m.time));
  const elapsedMs = Math.max(1, last - started);
  await new Promise((r) => setTimeout(r, 500)); // anything extra (a duplicate reply) would arrive now

  // Pair each chat's updates with its replies in order (updates of one chat are handled in sequence).
  const byChat = new Map<number, { sent: number[]; replies: number[] }>();
  const updates = server.storage.userMessages.filter((u) => u.botToken === token);
  for (const u of updates) {
    const chatId = Number((u as { message: { chat: { id: number } } }).message.chat.id);
    const entry = byChat.get(chatId) ?? { sent: [], replies: [] };
    entry.sent.push(u.time);
    byChat.set(chatId, entry);
  }
  for (const m of ofToken())
    byChat.get(Number((m.message as { chat_id: number | string }).chat_id))?.replies.push(m.time);
  const latencies: number[] = [];
  let wrongReplies = 0;
  for (const { sent, replies: got } of byChat.values()) {
    if (got.length !== sent.length) wrongReplies++;
    sent.sort((a, b) => a - b);
    got.sort((a, b) => a - b);
    for (let i = 0; i < Math.min(sent.length, got.length); i++) latencies.push(got[i]! - sent[i]!);
  }
  latencies.sort((a, b) => a - b);
  return {
    elapsedMs,
    latencies,
    wrongReplies,
    replies: ofToken().length,
    updateIds: updates.map((u) => String(u.updateId)),
  };
}

/** The same load answered by a bare grammY echo bot: no database, no middleware. */
async function echoLoad(server: TelegramServer): Promise<LoadResult> {
  const echo = new Bot(ECHO_TOKEN, { client: { apiRoot: server.config.apiURL } });
  // The emulator resets connections under this load; the echo retries its reply as the customers
  // retry their posts, so both bots answer every update.
  echo.on("message:text", (ctx) => retry(() => ctx.reply(ctx.message.text)));
  await echo.init();
  const runner = run(echo, { runner: { fetch: { allowed_updates: ["message", "callback_query"] } } });
  try {
    return await driveLoad(server, ECHO_TOKEN, ECHO_FIRST_CHAT);
  } finally {
    await runner.stop();
    // The product's bot then starts from an emulator as empty as the echo had: the emulator scans
    // its whole store on every getUpdates, so the echo's 4,000 messages would slow only the second run.
    server.storage.userMessages = server.storage.userMessages.filter((m) => m.botToken !== ECHO_TOKEN);
    server.storage.botMessages = server.storage.botMessages.filter((m) => m.botToken !== ECHO_TOKEN);
  }
}

const rate = (r: LoadResult) => (customers * 2 * 1000) / r.elapsedMs;

interface StatementTally {
  count: number;
  ms: number;
}

/** What a statement does, for the profile: the model and operation, or a raw statement's first words. */
function statementLabel(model: string | undefined, operation: string, args: unknown): string {
  if (model) return `${model}.${operation}`;
  const strings = (args as { strings?: string[] } | undefined)?.strings ?? [];
  const sql = strings.join("?").replace(/\s+/g, " ").trim();
  return `${operation} ${sql.slice(0, 60)}`;
}

/** The database with every statement counted and timed by label (a Prisma query extension, and `queryRows`). */
function profiled(db: Database): { db: Database; tally: Map<string, StatementTally> } {
  const tally = new Map<string, StatementTally>();
  const prisma = db.prisma.$extends({
    query: {
      async $allOperations({ model, operation, args, query }) {
        const started = performance.now();
        try {
          return await query(args);
        } finally {
          const label = statementLabel(model, operation, args);
          const entry = tally.get(label) ?? { count: 0, ms: 0 };
          entry.count++;
          entry.ms += performance.now() - started;
          tally.set(label, entry);
        }
      },
    },
  }) as unknown as Database["prisma"];
  const queryRows = async <T>(sql: string, params?: readonly unknown[]): Promise<T[]> => {
    const started = performance.now();
    try {
      return await db.queryRows<T>(sql, params);
    } finally {
      const label = `queryRows ${sql.replace(/\s+/g, " ").trim().slice(0, 60)}`;
      const entry = tally.get(label) ?? { count: 0, ms: 0 };
      entry.count++;
      entry.ms += performance.now() - started;
      tally.set(label, entry);
    }
  };
  return { db: { ...db, prisma, queryRows }, tally };
}

async function runOnce(label: string, database: "pglite" | "postgres", db: Database): Promise<boolean> {
  await db.prisma.$executeRaw`
    INSERT INTO customers (external_id, name, telegram_chat_id, telegram_user_id, updated_at)
    SELECT 'bench-' || g, 'Customer ' || g, ${FIRST_CHAT} + g, ${FIRST_CHAT} + g, now()
    FROM generate_series(1, ${customers}) AS g`;
  const server: TelegramServer = await startEmulator();
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: server.config.apiURL,
    LOG_LEVEL: "silent",
  });
  const errors: string[] = [];
  const log = createLogger(
    "error",
    new Writable({
      write(chunk, _enc, done) {
        errors.push(String(chunk));
        done();
      },
    }),
  );
  try {
    const echo = await echoLoad(server);
    const counted = profiled(db);
    const { bot } = buildTelegramBot({
      config,
      db: counted.db,
      log,
      limits: realLimits ? undefined : { perSecond: 0, perChatPerSecond: 0 },
    });
    const runner = await startPolling(bot, {
      db: counted.db,
      log,
      allowedUpdates: ["message", "callback_query"],
    });
    let handled: LoadResult;
    try {
      handled = await driveLoad(server, TOKEN, FIRST_CHAT);
    } finally {
      await runner.stop();
    }
    const expected = customers * 2;
    const processed = await db.prisma.processedUpdate.count({
      where: { source: "telegram", updateId: { in: handled.updateIds }, handledAt: { not: null } },
    });
    const tickets = await db.prisma.ticket.count();
    const ticketMessages = await db.prisma.ticketMessage.count();
    const ok =
      handled.wrongReplies === 0 &&
      processed === expected &&
      tickets === customers &&
      ticketMessages === customers &&
      handled.replies === expected &&
      echo.replies === expected;
    const lat = (r: LoadResult) =>
      `p50 ${percentile(r.latencies, 50)} ms   p95 ${percentile(r.latencies, 95)} ms   max ${r.latencies[r.latencies.length - 1]} ms`;
    console.log(
      `\n${label}: ${customers} customers, ${expected} updates at once, Telegram limits ${realLimits ? "on (30/s)" : "off"}`,
    );
    console.log(`  handled latency (update -> reply)  ${lat(handled)}`);
    console.log(`  handled: all in ${(handled.elapsedMs / 1000).toFixed(1)} s (${rate(handled).toFixed(0)} updates/s)`);
    console.log(`  echo bot (no database) latency  ${lat(echo)}`);
    console.log(`  echo: all in ${(echo.elapsedMs / 1000).toFixed(1)} s (${rate(echo).toFixed(0)} updates/s)`);
    console.log(
      `  replies ${handled.replies}/${expected}, chats with a wrong reply count ${handled.wrongReplies}, processed_updates ${processed}/${expected}, tickets ${tickets}/${customers}, ticket messages ${ticketMessages}/${customers}, echo replies ${echo.replies}/${expected}`,
    );
    const statements = [...counted.tally.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = statements.reduce((sum, [, t]) => sum + t.count, 0);
    console.log(`  database statements per update ${(total / expected).toFixed(2)} (${total} in all), by time spent:`);
    for (const [label, t] of statements)
      console.log(`    ${(t.count / expected).toFixed(2)}/update  mean ${(t.ms / t.count).toFixed(1)} ms  ${label}`);
    if (errors.length) console.log(`  handler errors logged: ${errors.length}, first: ${errors[0]!.slice(0, 300)}`);
    console.log(`  ${ok ? "OK: no update lost, none handled twice" : "FAILED: updates lost or handled twice"}`);
    console.log(`RATIO handled/echo ${database} = ${(rate(handled) / rate(echo)).toFixed(2)}`);
    return ok;
  } finally {
    await server.stop();
  }
}

let allOk = true;
if (which === "pglite" || which === "both") {
  const pg = newPGlite();
  await pg.waitReady;
  const db = wrapPGlite(pg);
  await applyMigrations(db);
  allOk = (await runOnce("PGlite (embedded)", "pglite", db)) && allOk;
  await db.close();
}
if (which === "postgres" || which === "both") {
  const server = await startPostgres();
  try {
    const admin = await openDatabase({ kind: "postgres", url: server.url() }, { poolSize: 1 });
    await admin.prisma.$executeRawUnsafe("CREATE DATABASE bench_telegram");
    await admin.close();
    const db = await openDatabase({ kind: "postgres", url: server.url("bench_telegram") }, { poolSize: 10 });
    await applyMigrations(db);
    allOk = (await runOnce("PostgreSQL 15 server (pool 10)", "postgres", db)) && allOk;
    await db.close();
  } finally {
    server.stop();
  }
}
process.exit(allOk ? 0 : 1);
