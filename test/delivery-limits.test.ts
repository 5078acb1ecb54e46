// One delivery path under Telegram's limits, driven end to end: the real bot (polling a Bot API
// stand-in) and the real dispatcher share the process runtime's one Telegram client. The
// stand-in answers some sends with 429 and a `retry_after` longer than the claim lease, and
// records the time every message reached it. Then, with an OpenAI-compatible stand-in configured,
// offers carry the model's text; with the model failing or hanging, the template.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { run, type RunnerHandle } from "@grammyjs/runner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTelegramBot } from "../bot/telegram/bot";
import { busiestSecond, startBotApiStandIn, type BotApiStandIn } from "../bot/telegram/testing/bot-api-stand-in";
import { loadConfig, type Config } from "../core/config/config";
import type { Database } from "../core/db/client";
import { Writable } from "node:stream";
import { createLogger, silentLogger } from "../core/log";
import { enqueueMessages, type OutboxRow } from "../core/messaging/outbox";
import type { AppContext } from "../jobs/context";
import { runDispatch } from "../jobs/dispatch.job";
import { runtimeFor } from "../jobs/runtime";
import { createTestDatabase } from "./helpers/db";

const TOKEN = "4242:delivery-test";
const OFFER_LINE = "Here is something just for you";

function contextFor(config: Config, db: Database): AppContext {
  return { config, db, log: silentLogger, now: () => new Date(), close: async () => undefined };
}

function configFor(standIn: BotApiStandIn, extra: Record<string, string> = {}): Config {
  return loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: standIn.apiRoot,
    // Ten seconds: every send gives up waiting at five, so a 429 asking for twelve outlasts both.
    DISPATCH_LEASE_SECONDS: "10",
    DISPATCH_BATCH_SIZE: "50",
    QUIET_HOURS_START: "0",
    QUIET_HOURS_END: "0",
    LOG_LEVEL: "silent",
    ...extra,
  });
}

/** Linked, consenting customers with chats `firstChat + 1 ..`; returns their ids in chat order. */
async function insertCustomers(db: Database, prefix: string, firstChat: number, count: number): Promise<number[]> {
  const rows = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO customers (external_id, name, telegram_chat_id, telegram_user_id, marketing_consent, updated_at)
    SELECT ${prefix} || g, 'Anna Customer' || g, ${firstChat} + g, ${firstChat} + g, true, now()
    FROM generate_series(1, ${count}) AS g ORDER BY g
    RETURNING id`;
  return rows.map((r) => r.id);
}

function offerRows(prefix: string, ids: number[]): OutboxRow[] {
  return ids.map((customerId, i) => ({
    idempotencyKey: `${prefix}:offer:${customerId}`,
    customerId,
    kind: "offer",
    payload: { offerIssueId: 900_000 + i, title: "15% off your next order" },
  }));
}

async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  state: () => Promise<unknown> | unknown = () => "",
  limitMs = 180_000,
) {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}; ${JSON.stringify(await state())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase("pglite");
});
afterAll(async () => {
  await db?.close();
});

describe("one Telegram limiter for the bot and the dispatcher", () => {
  let standIn: BotApiStandIn;
  let runner: RunnerHandle | undefined;
  afterAll(async () => {
    if (runner?.isRunning()) await runner.stop();
    await standIn?.close();
  });

  it(
    "delivers every message exactly once through 429s longer than the lease, never over 30 a second",
    { timeout: 600_000 },
    async () => {
      standIn = await startBotApiStandIn({ stampArrivals: true });
      // Three first sends to every seventh chat are refused with a retry_after of 12 s (lease 10 s).
      let refusals = 3;
      standIn.rateLimit = (chatId, earlier) => (earlier === 0 && chatId % 7 === 0 && refusals-- > 0 ? 12 : undefined);
      const config = configFor(standIn);
      const ctx = contextFor(config, db);
      const runtime = await runtimeFor(ctx);
      const FIRST = 700_000;
      const ids = await insertCustomers(db, "lim", FIRST, 60);
      const chatOf = (i: number) => FIRST + i + 1;
      // Offers to all 60; staff replies (transactional) to the first 20; /help from the last 40.
      const replies: OutboxRow[] = ids.slice(0, 20).map((customerId) => ({
        idempotencyKey: `lim:reply:${customerId}`,
        customerId,
        kind: "ticket_reply",
        payload: { reference: `T-${customerId}`, text: "We found your parcel." },
      }));
      await enqueueMessages(db, [...offerRows("lim", ids), ...replies], { now: new Date(Date.now() - 1000) });

      const problems: string[] = [];
      const log = createLogger(
        "warn",
        new Writable({
          write(chunk, _enc, done) {
            problems.push(String(chunk).slice(0, 300));
            done();
          },
        }),
      );
      const { bot } = buildTelegramBot({ config, db, log, telegram: runtime.telegram });
      await bot.init();
      runner = run(bot, { runner: { fetch: { allowed_updates: ["message", "callback_query"] } } });
      standIn.pushUpdates(
        Array.from({ length: 40 }, (_, k) => {
          const chat = chatOf(20 + k);
          return {
            update_id: 5000 + k,
            message: {
              message_id: 1,
              date: Math.floor(Date.now() / 1000),
              chat: { id: chat, type: "private", first_name: "Anna" },
              from: { id: chat, is_bot: false, first_name: "Anna" },
              text: "/help",
              entities: [{ type: "bot_command", offset: 0, length: 5 }],
            },
          };
        }),
      );

      // The stand-in stamps a send as it arrives, on a thread of its own; the send leaves when this
      // process's event loop gets to it: on a loaded machine, as late as the loop's longest stall,
      // which can bring two sends of one chat that much closer.
      const stall = monitorEventLoopDelay({ resolution: 10 });
      stall.enable();
      const stop = new AbortController();
      const dispatching = runDispatch(ctx, undefined, { untilEmpty: false, pollMs: 200, signal: stop.signal });
      const unsettled = () =>
        db.prisma.outboxMessage.count({
          where: { idempotencyKey: { startsWith: "lim:" }, status: { not: "sent" } },
        });
      const helpReplies = () =>
        standIn
          .delivered()
          .filter((s) => s.chatId > chatOf(19) && !s.text.includes(OFFER_LINE) && !s.text.startsWith("Reply on"));
      let stats;
      try {
        await waitFor(
          "every message sent and every /help answered",
          async () => (await unsettled()) === 0 && helpReplies().length >= 40,
          async () => ({
            outbox: await db.prisma.outboxMessage.groupBy({
              by: ["status", "lastError", "skipReason"],
              where: { idempotencyKey: { startsWith: "lim:" } },
              _count: true,
            }),
            sends: standIn.sends.length,
            refused: standIn.sends.filter((s) => !s.accepted).length,
            helpReplies: helpReplies().length,
            refusedChats: standIn.sends.filter((s) => !s.accepted).map((s) => [s.chatId, s.text.slice(0, 10)]),
            problems: problems.slice(0, 5),
            inDoubt: await db.prisma
              .$queryRaw`SELECT m.customer_id, a.error, a.latency_ms FROM outbox_messages m JOIN delivery_attempts a ON a.outbox_id = m.id WHERE m.last_error = 'in_doubt'`,
          }),
          90_000,
        );
      } finally {
        stop.abort();
        stats = await dispatching;
        await runner.stop();
        stall.disable();
      }

      // The 429s happened, and were not deliveries.
      expect(standIn.sends.filter((s) => !s.accepted).length).toBe(3);
      // Every offer exactly once per chat, every staff reply exactly once, every /help answered once.
      const delivered = standIn.delivered();
      for (let i = 0; i < 60; i++) {
        const toChat = delivered.filter((s) => s.chatId === chatOf(i));
        expect(toChat.filter((s) => s.text.includes(OFFER_LINE))).toHaveLength(1);
        expect(toChat.filter((s) => s.text.startsWith("Reply on"))).toHaveLength(i < 20 ? 1 : 0);
      }
      const helpPerChat = new Map<number, number>();
      for (const s of helpReplies()) helpPerChat.set(s.chatId, (helpPerChat.get(s.chatId) ?? 0) + 1);
      expect([...helpPerChat.values()]).toEqual(Array(40).fill(1));
      // The outbox agrees: all sent, none lost to the lease nor settled as in doubt.
      const rows = await db.prisma.outboxMessage.findMany({ where: { idempotencyKey: { startsWith: "lim:" } } });
      expect(rows).toHaveLength(80);
      expect(rows.every((r) => r.status === "sent" && r.lastError === null)).toBe(true);
      expect(stats.lostLease).toBe(0);
      // Bot replies and dispatcher sends together, 429s included: never more than 30 in a second,
      // and one chat's messages (accepted ones) at least about a second apart, less the longest
      // stall of the loop that sent them.
      expect(busiestSecond(standIn.sends)).toBeLessThanOrEqual(30);
      const stampSlackMs = stall.max / 1e6;
      for (let i = 0; i < 60; i++) {
        const times = delivered.filter((s) => s.chatId === chatOf(i)).map((s) => s.at);
        for (let k = 1; k < times.length; k++)
          expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(900 - stampSlackMs);
      }
    },
  );
});

type LlmMode = "answer" | "fail" | "hang";

async function startModelStandIn(mode: LlmMode) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls++;
      if (mode === "hang") return; // never answers
      if (mode === "fail") {
        res.writeHead(500, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: { message: "model unavailable" } }));
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${calls}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: "stand-in",
          choices: [
            {
              index: 0,
              finish_reason: "stop",
              message: { role: "assistant", content: `Anna, a little thank-you from us (model copy ${calls}).` },
            },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("offers written by the configured chat model", () => {
  const cases: { mode: LlmMode; firstChat: number; expectModel: boolean; timeoutMs: string }[] = [
    { mode: "answer", firstChat: 710_000, expectModel: true, timeoutMs: "20000" },
    { mode: "fail", firstChat: 720_000, expectModel: false, timeoutMs: "300" },
    { mode: "hang", firstChat: 730_000, expectModel: false, timeoutMs: "300" },
  ];
  for (const { mode, firstChat, expectModel, timeoutMs } of cases) {
    it(
      `model ${mode}: the dispatcher sends ${expectModel ? "the model's text" : "the template"}`,
      {
        timeout: 600_000,
      },
      async () => {
        const standIn = await startBotApiStandIn();
        const model = await startModelStandIn(mode);
        try {
          const config = configFor(standIn, {
            OPENAI_API_KEY: "sk-stand-in",
            OPENAI_BASE_URL: model.baseUrl,
            LLM_OFFER_TIMEOUT_MS: timeoutMs,
          });
          const prefix = `llm-${mode}`;
          const ids = await insertCustomers(db, prefix, firstChat, 4);
          await enqueueMessages(db, offerRows(prefix, ids), { now: new Date(Date.now() - 1000) });
          // The scheduled job's default channel: the runtime's, with the configured model.
          const stats = await runDispatch(contextFor(config, db));
          expect(stats.sent).toBe(4);
          expect(model.calls()).toBeGreaterThanOrEqual(1);
          const texts = standIn.delivered().map((s) => s.text);
          expect(texts).toHaveLength(4);
          for (const text of texts) {
            if (expectModel) {
              expect(text).toContain("(model copy");
              expect(text).not.toContain(OFFER_LINE);
            } else expect(text).toContain(OFFER_LINE);
          }
          const rows = await db.prisma.outboxMessage.findMany({ where: { idempotencyKey: { startsWith: prefix } } });
          expect(rows.every((r) => r.status === "sent" && r.lastError === null)).toBe(true);
        } finally {
          await model.close();
          await standIn.close();
        }
      },
    );
  }
});
