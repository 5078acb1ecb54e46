import http from "node:http";
import type { AddressInfo } from "node:net";
import TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutboundMessage } from "../../core/messaging/channel";
import { decodeCallback } from "../../core/messaging/callback-data";
import { createTelegramChannel } from "./telegram-channel";

const TOKEN = "123:channel-test";

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    outboxId: 7,
    idempotencyKey: "test:7",
    customerId: 1,
    chatId: 5001n,
    locale: "en",
    kind: "offer",
    payload: {
      offerIssueId: 42,
      title: "15% off your next order",
      customerName: "Anna Petrova",
      topCategory: "jazz CDs",
      expiresAt: "2026-12-06T00:00:00Z",
    },
    ...overrides,
  };
}

/** A Bot API stand-in that answers every sendMessage with a fixed error. */
async function failingServer(status: number, body: object): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: false, error_code: status, ...body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("TelegramChannel", () => {
  let server: TelegramServer;
  beforeAll(async () => {
    server = new TelegramServer({ port: 0 + 19_000 + Math.floor(Math.random() * 1000), host: "127.0.0.1" });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("renders an offer with its buttons and sends it to the chat", async () => {
    const channel = createTelegramChannel({ token: TOKEN, apiRoot: server.config.apiURL });
    const result = await channel.send(message());
    expect(result.ok).toBe(true);
    const sent = server.storage.botMessages.filter((m) => m.botToken === TOKEN);
    expect(sent).toHaveLength(1);
    const body = sent[0]!.message as {
      chat_id: number | string;
      text: string;
      reply_markup: { inline_keyboard: { callback_data: string }[][] };
    };
    expect(Number(body.chat_id)).toBe(5001);
    expect(body.text).toContain("Anna");
    expect(body.text).not.toContain("Petrova");
    expect(body.text).toContain("jazz CDs");
    const actions = body.reply_markup.inline_keyboard.flat().map((b) => decodeCallback(b.callback_data));
    expect(actions).toEqual([
      { type: "offer", action: "accept", issueId: 42 },
      { type: "offer", action: "decline", issueId: 42 },
      { type: "offer", action: "stop", issueId: 42 },
    ]);
  });

  it("says a customer without a chat is unreachable without calling Telegram", async () => {
    const channel = createTelegramChannel({ token: TOKEN, apiRoot: "http://127.0.0.1:1" });
    expect(await channel.send(message({ chatId: null }))).toMatchObject({
      ok: false,
      unreachable: true,
      retryable: false,
    });
  });

  it("maps a blocked bot to unreachable", async () => {
    const stand = await failingServer(403, { description: "Forbidden: bot was blocked by the user" });
    try {
      const channel = createTelegramChannel({ token: TOKEN, apiRoot: stand.url });
      expect(await channel.send(message())).toMatchObject({ ok: false, unreachable: true, retryable: false });
    } finally {
      await stand.close();
    }
  });

  it("maps chat not found to unreachable", async () => {
    const stand = await failingServer(400, { description: "Bad Request: chat not found" });
    try {
      const channel = createTelegramChannel({ token: TOKEN, apiRoot: stand.url });
      expect(await channel.send(message())).toMatchObject({ ok: false, unreachable: true });
    } finally {
      await stand.close();
    }
  });

  it("hands a long 429 retry_after back as retryable with the delay", async () => {
    const stand = await failingServer(429, {
      description: "Too Many Requests: retry after 120",
      parameters: { retry_after: 120 },
    });
    try {
      const channel = createTelegramChannel({ token: TOKEN, apiRoot: stand.url });
      expect(await channel.send(message())).toMatchObject({ ok: false, retryable: true, retryAfterMs: 120_000 });
    } finally {
      await stand.close();
    }
  });

  it("maps a network failure to retryable", async () => {
    const channel = createTelegramChannel({ token: TOKEN, apiRoot: "http://127.0.0.1:9" });
    expect(await channel.send(message())).toMatchObject({ ok: false, retryable: true });
  });
});
