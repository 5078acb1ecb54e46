// Telegram's metrics: updates counted by outcome through grammY against the Bot API emulator,
// and 429 answers counted per method against a stand-in Bot API that rate-limits.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Bot, GrammyError } from "grammy";
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log";
import { createPrometheusMetrics } from "../../jobs/http/prometheus-metrics";
import { startEmulator } from "../../test/helpers/campaign-fixture";
import { countRateLimits, countUpdates } from "./metrics";

const TOKEN = "555:metrics-test";

describe("Telegram metrics", () => {
  let emulator: TelegramServer;
  let limiter: http.Server;
  let limiterRoot: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    // Answers every sendMessage with 429, everything else as the real API would for getMe.
    limiter = http.createServer((req, res) => {
      res.writeHead(req.url?.endsWith("/sendMessage") ? 429 : 200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          req.url?.endsWith("/sendMessage")
            ? {
                ok: false,
                error_code: 429,
                description: "Too Many Requests: retry after 1",
                parameters: { retry_after: 1 },
              }
            : { ok: true, result: { id: 555, is_bot: true, first_name: "Limited", username: "limited_bot" } },
        ),
      );
    });
    await new Promise<void>((resolve) => limiter.listen(0, "127.0.0.1", resolve));
    limiterRoot = `http://127.0.0.1:${(limiter.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await emulator?.stop();
    await new Promise((resolve) => limiter?.close(resolve));
  });

  it("counts each handled update, and a handler's failure as an error", async () => {
    const prometheus = createPrometheusMetrics({ log: silentLogger });
    const bot = new Bot(TOKEN, { client: { apiRoot: emulator.config.apiURL } });
    bot.use(countUpdates(prometheus.metrics));
    bot.on("message:text", async (ctx) => {
      if (ctx.message.text === "fail") throw new Error("handler failed");
      await ctx.reply("ok");
    });
    await bot.init();
    const client = emulator.getClient(TOKEN);
    for (const text of ["one", "two", "fail"]) await client.sendMessage(client.makeMessage(text));
    const updates = await bot.api.getUpdates();
    expect(updates).toHaveLength(3);
    for (const update of updates) await bot.handleUpdate(update).catch(() => undefined);

    const text = await prometheus.registry.getSingleMetricAsString("retention_updates_handled_total");
    expect(text).toMatch(/^retention_updates_handled_total\{channel="telegram",outcome="ok"\} 2$/m);
    expect(text).toMatch(/^retention_updates_handled_total\{channel="telegram",outcome="error"\} 1$/m);
  });

  it("counts every 429 answer by method", async () => {
    const prometheus = createPrometheusMetrics({ log: silentLogger });
    const bot = new Bot(TOKEN, { client: { apiRoot: limiterRoot } });
    bot.api.config.use(countRateLimits(prometheus.metrics));
    await expect(bot.api.sendMessage(1, "a")).rejects.toBeInstanceOf(GrammyError);
    await expect(bot.api.sendMessage(1, "b")).rejects.toBeInstanceOf(GrammyError);
    await bot.api.getMe();

    const text = await prometheus.registry.getSingleMetricAsString("retention_rate_limited_total");
    expect(text).toMatch(/^retention_rate_limited_total\{provider="telegram",method="sendMessage"\} 2$/m);
    expect(text).not.toMatch(/method="getMe"/);
  });
});
