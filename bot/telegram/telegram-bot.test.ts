// End to end: the real bot polls the Bot API emulator (telegram-test-api) through
// TELEGRAM_API_ROOT while the emulator's client plays the customer. PGlite, one database per file.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/helpers/wait";
import { silentLogger } from "../../core/log";
import { createLinkToken } from "../../core/linking/linking";
import { decodeCallback } from "../../core/messaging/callback-data";
import { enqueueMessages } from "../../core/messaging/outbox";
import type { Database } from "../../core/db/client";
import { runDispatch } from "../../jobs/dispatch.job";
import { botMessages, buttons, callbackAnswers, emulatorUser, waitForMessages } from "./test-harness";
import {
  makeCustomer,
  makeOfferIssue,
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
let nextChat = 7000;

function client(options: { locale?: string } = {}) {
  return emulatorUser(server, TEST_TOKEN, nextChat++, options);
}

async function linked(options: { locale?: string; categories?: string[] } = {}) {
  const user = client(options);
  const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), categories: options.categories });
  return { user, customer };
}

function appContext() {
  return { config: testConfig(server), db, log: silentLogger, now: () => NOW, close: async () => undefined };
}

beforeAll(async () => {
  ({ db, server, running } = await startBotOnEmulator({ now: () => NOW }));
});

afterAll(() => stopBotOnEmulator({ db, server, running }));

describe("linking a chat", () => {
  it("links by deep link, idempotently, and refuses a used, expired or unknown token", async () => {
    const customer = await makeCustomer(db);
    const created = await createLinkToken(db, customer.externalId, {
      now: NOW,
      ttlHours: 72,
      botUsername: "retention_test_bot",
    });
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    expect(created.value.link).toBe(`https://t.me/retention_test_bot?start=${created.value.token}`);

    const user = client();
    await user.command(`/start ${created.value.token}`);
    const [first] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    expect(first!.text).toContain("now connected");
    const row = await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } });
    expect(row.telegramChatId).toBe(BigInt(user.chatId));
    expect(row.locale).toBe("en");

    await user.command(`/start ${created.value.token}`);
    const again = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(again[1]!.text).toContain("already connected");

    const stranger = client();
    await stranger.command(`/start ${created.value.token}`);
    expect((await waitForMessages(server, TEST_TOKEN, stranger.chatId, 1))[0]!.text).toContain("already been used");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).telegramChatId).toBe(
      BigInt(user.chatId),
    );

    const old = await createLinkToken(db, customer.id, {
      now: new Date(NOW.getTime() - 100 * 3_600_000),
      ttlHours: 72,
      botUsername: "b",
    });
    if (!old.ok) throw new Error("token");
    await stranger.command(`/start ${old.value.token}`);
    await stranger.command(`/start not-a-real-token-123`);
    const replies = await waitForMessages(server, TEST_TOKEN, stranger.chatId, 3);
    expect(replies[1]!.text).toContain("expired");
    expect(replies[2]!.text).toContain("don't recognise this link");
  });

  it("links by the shared phone number, only for the user's own contact", async () => {
    const customer = await makeCustomer(db, { phone: "+7 (912) 555-01-02" });
    const user = client();
    await user.text("", { contact: { phone_number: "79125550102", first_name: "Anna", user_id: user.chatId + 1 } });
    await user.text("", { contact: { phone_number: "79125550102", first_name: "Anna", user_id: user.chatId } });
    const replies = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(replies[0]!.text).toContain("your own contact");
    expect(replies[1]!.text).toContain("found your account");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).telegramChatId).toBe(
      BigInt(user.chatId),
    );
  });
});

describe("offers", () => {
  it("delivers an offer through the outbox and the channel, and each button does its job", async () => {
    const { user, customer } = await linked();
    const issues = [
      await makeOfferIssue(db, customer.id, NOW),
      await makeOfferIssue(db, customer.id, NOW),
      await makeOfferIssue(db, customer.id, NOW),
    ];
    await enqueueMessages(
      db,
      issues.map((issue) => ({
        idempotencyKey: `test:offer:${issue.id}`,
        customerId: customer.id,
        kind: "offer" as const,
        payload: { offerIssueId: issue.id },
        notBefore: NOW,
      })),
      { now: NOW },
    );
    const stats = await runDispatch(appContext(), running.channel, {});
    expect(stats.sent).toBe(3);
    const offers = await waitForMessages(server, TEST_TOKEN, user.chatId, 3);
    expect(offers[0]!.text).toContain("Anna");
    expect(offers[0]!.text).toContain("jazz");
    expect(offers[0]!.text).toContain("15% off your next order");
    const [accept] = buttons(offers[0]);
    expect(decodeCallback(accept!.data)).toEqual({ type: "offer", action: "accept", issueId: issues[0]!.id });

    await user.press(accept!.data, offers[0]!.message_id);
    const afterAccept = await waitForMessages(server, TEST_TOKEN, user.chatId, 4);
    expect(afterAccept[3]!.text).toContain(issues[0]!.code);
    expect((await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: issues[0]!.id } })).status).toBe("accepted");

    await user.press(buttons(offers[1])[1]!.data, offers[1]!.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 5))[4]!.text).toContain(
      "won't send you offers for a while",
    );
    const declined = await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: issues[1]!.id } });
    expect(declined.status).toBe("declined");
    expect(declined.respondedAt).toEqual(NOW);

    await user.press(buttons(offers[2])[2]!.data, offers[2]!.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 6))[5]!.text).toContain("no more offers or surveys");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).marketingConsent).toBe(false);
  });

  it("answers forged and stale buttons clearly and changes nothing", async () => {
    const { user } = await linked();
    const other = await makeCustomer(db);
    const theirs = await makeOfferIssue(db, other.id, NOW);
    const before = callbackAnswers(server).length;
    await user.press(`v1:of:a:${theirs.id}`, 1);
    await user.press("v1:of:a:99999999", 1);
    await user.press("v2:anything", 1);
    await user.press("v1:np:1:11", 1);
    await user.press("v1:sq:3:5", 1);
    await until(() => callbackAnswers(server).length >= before + 5, "five callback answers");
    const texts = callbackAnswers(server)
      .slice(before)
      .map((a) => a.text);
    expect(texts).toEqual([
      "This offer belongs to someone else.",
      "This offer is no longer available.",
      "I don't recognise this button.",
      "I don't recognise this button.",
      "This button is no longer active.",
    ]);
    expect((await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: theirs.id } })).status).toBe("issued");
    expect(botMessages(server, TEST_TOKEN, user.chatId)).toHaveLength(0);
  });

  it("sends nothing after /stop", async () => {
    const { user, customer } = await linked();
    await user.command("/stop");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 1))[0]!.text).toContain("no more offers or surveys");
    const issue = await makeOfferIssue(db, customer.id, NOW);
    await enqueueMessages(
      db,
      [
        {
          idempotencyKey: `test:stopped:${issue.id}`,
          customerId: customer.id,
          kind: "offer",
          payload: { offerIssueId: issue.id },
          notBefore: NOW,
        },
      ],
      { now: NOW },
    );
    const stats = await runDispatch(appContext(), running.channel, {});
    expect(stats.sent).toBe(0);
    expect(stats.skipped).toMatchObject({ opted_out: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(botMessages(server, TEST_TOKEN, user.chatId)).toHaveLength(1);

    await user.command("/start");
    const confirm = (await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!;
    await user.press(buttons(confirm)[0]!.data, confirm.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!.text).toContain("Welcome back");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).marketingConsent).toBe(true);
  });
});
