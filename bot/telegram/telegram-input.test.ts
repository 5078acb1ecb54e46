// Bad input and operation: media, over-long texts, unknown commands, unlinked users, group
// chats, a redelivered update, a blocked bot, and webhook mode's secret-token check.
import type { Update } from "grammy/types";
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/helpers/wait";
import type { Database } from "../../core/db/client";
import { Writable } from "node:stream";
import { createLogger, silentLogger } from "../../core/log";
import { buildTelegramBot, startTelegramBot } from "./bot";
import { botMessages, emulatorUser, freePort, waitForMessages } from "./test-harness";
import {
  makeCustomer,
  runTestBot,
  testConfig,
  TEST_TOKEN,
  type RunningTestBot,
  startBotOnEmulator,
  stopBotOnEmulator,
} from "./test-fixtures";

const NOW = new Date("2026-11-20T12:00:00Z");
let db: Database;
let server: TelegramServer;
let running: RunningTestBot;
let nextChat = 9000;

async function linked(locale?: "en" | "ru") {
  const user = emulatorUser(server, TEST_TOKEN, nextChat++, locale ? { locale } : {});
  const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), ...(locale ? { locale } : {}) });
  return { user, customer };
}

async function written() {
  const [tickets, feedback, conversations, messages] = await Promise.all([
    db.prisma.ticket.count(),
    db.prisma.feedback.count(),
    db.prisma.conversation.count(),
    db.prisma.ticketMessage.count(),
  ]);
  return { tickets, feedback, conversations, messages };
}

beforeAll(async () => {
  ({ db, server, running } = await startBotOnEmulator({ now: () => NOW }));
});

afterAll(() => stopBotOnEmulator({ db, server, running }));

describe("bad input", () => {
  it("answers a sticker with a polite note, and a bare photo or voice outside a request with a next step, writing nothing", async () => {
    const { user } = await linked();
    const before = await written();
    await user.text("", {
      sticker: {
        file_id: "s1",
        file_unique_id: "s1",
        type: "regular",
        width: 512,
        height: 512,
        is_animated: false,
        is_video: false,
      },
    });
    await user.text("", { photo: [{ file_id: "p1", file_unique_id: "p1", width: 90, height: 90 }] });
    await user.text("", { voice: { file_id: "v1", file_unique_id: "v1", duration: 3 } });
    const replies = await waitForMessages(server, TEST_TOKEN, user.chatId, 3);
    expect(replies.map((r) => r.text)).toEqual([
      "I can only read text messages. Please write to me in words.",
      ...Array(2).fill(
        "Thank you for the file. If something went wrong, tell me about it in words (or send the photo again with a caption), and a person from our team will look at it.",
      ),
    ]);
    expect(await written()).toEqual(before);
  });

  it("refuses a text over Telegram's 4,096 characters and an unknown command without writing", async () => {
    const { user } = await linked();
    const before = await written();
    await user.text("Ж".repeat(4097));
    await user.command("/teleport");
    const replies = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(replies[0]!.text).toContain("too long");
    expect(replies[1]!.text).toContain("don't know that command");
    expect(await written()).toEqual(before);
  });

  for (const [locale, sentence, tooLong, logged] of [
    ["en", "The parcel came open and half the books are wet. ", "too long", /T-\d+/],
    ["ru", "Посылка пришла вскрытой, половина книг промокла. ", "слишком длинное", /T-\d+/],
  ] as const)
    it(`takes a text of exactly 4,096 characters whole into a ticket, and refuses one more (${locale})`, async () => {
      const { user, customer } = await linked(locale);
      const longest = sentence.repeat(100).slice(0, 4096);
      expect(longest).toHaveLength(4096);
      await user.text(longest);
      expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 1))[0]!.text).toMatch(logged);
      const stored = await db.prisma.ticketMessage.findFirstOrThrow({ where: { ticket: { customerId: customer.id } } });
      expect(stored.text).toBe(longest);
      // The reply goes out before the update's conversation state is stored: count once it is.
      await until(
        async () => (await db.prisma.processedUpdate.count({ where: { source: "telegram", handledAt: null } })) === 0,
        "the first text's update finished",
      );
      const before = await written();
      await user.text(`${longest}!`);
      expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text).toContain(tooLong);
      expect(await written()).toEqual(before);
    });

  it("tells an unlinked user how to link, for text, commands and buttons, and writes nothing", async () => {
    const stranger = emulatorUser(server, TEST_TOKEN, nextChat++);
    const before = await written();
    await stranger.text("Where is my order?");
    await stranger.command("/stop");
    await stranger.command("/start");
    const replies = await waitForMessages(server, TEST_TOKEN, stranger.chatId, 3);
    expect(replies[0]!.text).toContain("don't know you yet");
    expect(replies[0]!.reply_markup?.keyboard).toBeDefined();
    expect(replies[2]!.text).toContain("Share my phone number");
    expect(await written()).toEqual(before);
  });

  it("ignores group chats entirely", async () => {
    const group = emulatorUser(server, TEST_TOKEN, -nextChat++, { chatType: "group" });
    await group.text("hello bot");
    await group.command("/help");
    // A private message sent after them is handled, so the group updates were seen and dropped.
    const { user } = await linked();
    await user.command("/help");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    const updatesOf = (chatId: number) =>
      server.storage.userMessages
        .filter((u) => Number((u as { message: { chat: { id: number } } }).message.chat.id) === chatId)
        .map((u) => String(u.updateId));
    const markers = (chatId: number) =>
      db.prisma.processedUpdate.count({ where: { updateId: { in: updatesOf(chatId) } } });
    // The private update is marked handled after its reply; the group's never are.
    await until(async () => (await markers(user.chatId)) === 1, "the /help marked handled");
    expect(updatesOf(group.chatId)).toHaveLength(2);
    expect(botMessages(server, TEST_TOKEN, group.chatId)).toHaveLength(0);
    expect(await markers(group.chatId)).toBe(0);
  });

  it("treats any free text from a linked customer as a ticket, and a greeting as a greeting", async () => {
    const { user, customer } = await linked();
    await user.text("hello!");
    await user.text("Can I change the delivery address of my order?");
    const replies = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(replies[0]!.text).toContain("/help");
    expect(replies[1]!.text).toMatch(/logged as T-\d+/);
    expect(await db.prisma.ticket.findFirst({ where: { customerId: customer.id } })).toMatchObject({
      source: "message",
    });
  });
});

describe("operation", () => {
  it("handles a redelivered update once, and marks a customer who blocked the bot unreachable", async () => {
    const { user, customer } = await linked();
    const { bot } = buildTelegramBot({
      config: testConfig(server),
      db,
      log: silentLogger,
      now: () => NOW,
      limits: { perSecond: 0, perChatPerSecond: 0 },
    });
    await bot.init();
    const update: Update = {
      update_id: 777_000_001,
      message: {
        message_id: 1,
        date: 1,
        chat: { id: user.chatId, type: "private", first_name: "Anna" },
        from: { id: user.chatId, is_bot: false, first_name: "Anna" },
        text: "The package was damaged, I want a refund",
      },
    };
    await bot.handleUpdate(update);
    await bot.handleUpdate(update);
    expect(await db.prisma.ticket.count({ where: { customerId: customer.id } })).toBe(1);
    expect((await db.prisma.ticket.findFirstOrThrow({ where: { customerId: customer.id } })).source).toBe("complaint");
    expect(botMessages(server, TEST_TOKEN, user.chatId)).toHaveLength(1);

    await bot.handleUpdate({
      update_id: 777_000_002,
      my_chat_member: {
        chat: { id: user.chatId, type: "private", first_name: "Anna" },
        from: { id: user.chatId, is_bot: false, first_name: "Anna" },
        date: 2,
        old_chat_member: { status: "member", user: { id: 1, is_bot: true, first_name: "bot" } },
        new_chat_member: { status: "kicked", until_date: 0, user: { id: 1, is_bot: true, first_name: "bot" } },
      },
    });
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).unreachableAt).toEqual(NOW);
  });

  it("logs a failing update without its text, keeps running, and lets a redelivery retry it", async () => {
    const lines: string[] = [];
    const log = createLogger(
      "info",
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    await running.stop();
    running = await runTestBot(db, server, { now: () => NOW, log });
    const { user, customer } = await linked();
    // A corrupt conversation state makes the handler throw.
    await db.prisma.conversation.create({
      data: {
        key: `tg:${user.chatId}`,
        customerId: customer.id,
        data: { flow: { type: "nps_comment", feedbackId: "not-a-number" }, flowAt: NOW.toISOString() },
      },
    });
    await user.text("secret personal words");
    await until(() => lines.some((l) => l.includes("telegram update failed")), "the failure logged");
    const failure = lines.find((l) => l.includes("telegram update failed"))!;
    expect(failure).toBeDefined();
    expect(failure).not.toContain("secret personal words");
    expect(failure).not.toContain(TEST_TOKEN);
    const failedId = String(JSON.parse(failure).updateId);
    expect(await db.prisma.processedUpdate.count({ where: { updateId: failedId } })).toBe(0);
    // The bot is still running.
    const other = await linked();
    await other.user.command("/help");
    expect((await waitForMessages(server, TEST_TOKEN, other.user.chatId, 1))[0]!.text).toContain(
      "Here is what I can do",
    );
  });

  it("webhook mode accepts only requests with the secret token", async () => {
    const port = await freePort();
    const token = "2000:webhook-token";
    const config = testConfig(server, {
      TELEGRAM_BOT_TOKEN: token,
      TELEGRAM_MODE: "webhook",
      TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/telegram`,
      TELEGRAM_WEBHOOK_SECRET: "s3cret-value",
      TELEGRAM_WEBHOOK_PORT: String(port),
    });
    const started = await startTelegramBot({
      config,
      db,
      log: silentLogger,
      now: () => NOW,
      limits: { perSecond: 0, perChatPerSecond: 0 },
    });
    try {
      const update = (id: number) =>
        JSON.stringify({
          update_id: id,
          message: {
            message_id: 1,
            date: 1,
            chat: { id: 4242, type: "private", first_name: "X" },
            from: { id: 4242, is_bot: false, first_name: "X" },
            text: "/help",
            entities: [{ type: "bot_command", offset: 0, length: 5 }],
          },
        });
      const post = (body: string, secret?: string) =>
        fetch(`http://127.0.0.1:${port}/telegram`, {
          method: "POST",
          body,
          headers: {
            "content-type": "application/json",
            ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}),
          },
        });
      expect((await post(update(880_001))).status).toBe(401);
      expect((await post(update(880_002), "wrong")).status).toBe(401);
      expect((await post(update(880_003), "s3cret-value")).status).toBe(200);
      const replies = await waitForMessages(server, token, 4242, 1);
      expect(replies).toHaveLength(1);
      expect(await db.prisma.processedUpdate.count({ where: { updateId: { in: ["880001", "880002"] } } })).toBe(0);
    } finally {
      await started.stop();
    }
  });
});
