// End to end, in English and Russian: offers worded from the catalogue's per-language texts with
// the brand, one confirmation per answer, buttons gone once an offer is answered or expired;
// links opened from a second chat confirmed by the first; /mydata only to a chat that proved it
// is the customer's, worded for the person. The real bot polls the Bot API emulator.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertOffer } from "../../core/campaigns/offer-catalogue";
import type { Database } from "../../core/db/client";
import { createLinkToken } from "../../core/linking/linking";
import { silentLogger } from "../../core/log";
import { decodeCallback } from "../../core/messaging/callback-data";
import { enqueueMessages } from "../../core/messaging/outbox";
import { newOfferCode, OFFER_CODE_ALPHABET } from "../../core/offers/offer-code";
import { runDispatch } from "../../jobs/dispatch.job";
import { createTestDatabase } from "../../test/helpers/db";
import { until } from "../../test/helpers/wait";
import {
  botMessages,
  buttons,
  callbackAnswers,
  emulatorUser,
  startEmulator,
  waitForMessages,
  type BotMessage,
} from "./test-harness";
import { makeCustomer, runTestBot, testConfig, TEST_TOKEN, type RunningTestBot } from "./test-fixtures";

const START = new Date("2026-11-20T12:00:00Z");
const DAY = 86_400_000;
const BRAND = "Acme Records";
const CODE = new RegExp(`^[${OFFER_CODE_ALPHABET}]{8}$`);

let clock = START;
let db: Database;
let server: TelegramServer;
let running: RunningTestBot;
let nextChat = 9100;

const config = () => testConfig(server, { BRAND_NAME: BRAND });
const appContext = () => ({ config: config(), db, log: silentLogger, now: () => clock, close: async () => undefined });
const client = (locale: string) => emulatorUser(server, TEST_TOKEN, nextChat++, { locale });
const messages = (chatId: number) => botMessages(server, TEST_TOKEN, chatId);
const waitFor = (chatId: number, count: number) => waitForMessages(server, TEST_TOKEN, chatId, count);

beforeAll(async () => {
  db = await createTestDatabase("pglite");
  server = await startEmulator();
  running = await runTestBot(db, server, { now: () => clock, config: config() });
  await upsertOffer(db, {
    key: "winback-15",
    title: "15% off your next order",
    description: "Valid on everything except gift cards.",
    translations: {
      ru: { title: "скидка 15% на следующий заказ", description: "Действует на всё, кроме подарочных карт." },
    },
    kind: "percent_off",
    value: 15,
    cost: 4,
    saveProbability: 0.1,
  });
  await upsertOffer(db, {
    key: "plain",
    title: "Free shipping",
    kind: "free_shipping",
    value: 0,
    cost: 2,
    saveProbability: 0.1,
  });
});

afterAll(async () => {
  await running?.stop();
  await server?.stop();
  await db?.close();
});

/** A linked customer who last ordered 94 days ago, mostly in `category`, scored high risk. */
async function linkedCustomer(locale: "en" | "ru", category: string) {
  const user = client(locale);
  const customer = await makeCustomer(db, {
    chatId: BigInt(user.chatId),
    locale,
    categories: [category, category, "Other"],
  });
  const run = await db.prisma.scoreRun.create({ data: { asOf: clock } });
  await db.prisma.score.create({
    data: {
      runId: run.id,
      customerId: customer.id,
      asOf: clock,
      churnProbability: 0.9999999999858071,
      riskBand: "high",
      segment: "At risk",
      clv: 123.456789,
      reasons: [["overdue", 1.4, 94, 21]],
    },
  });
  return { user, customer };
}

/** Issues an offer with a fresh code and delivers it through the outbox; returns the message. */
async function sendOffer(customerId: number, chatId: number, key = "winback-15", validDays = 14) {
  const offer = await db.prisma.offer.findUniqueOrThrow({ where: { key } });
  const issue = await db.prisma.offerIssue.create({
    data: {
      code: newOfferCode(),
      customerId,
      offerId: offer.id,
      issuedAt: clock,
      expiresAt: new Date(clock.getTime() + validDays * DAY),
    },
  });
  await enqueueMessages(
    db,
    [
      {
        idempotencyKey: `e2e:offer:${issue.id}`,
        customerId,
        kind: "offer",
        payload: { offerIssueId: issue.id },
        notBefore: clock,
      },
    ],
    { now: clock },
  );
  const before = messages(chatId).length;
  expect((await runDispatch(appContext(), running.channel, {})).sent).toBe(1);
  const sent = (await waitFor(chatId, before + 1))[before]!;
  return { issue, message: sent };
}

/** Presses a button and waits for the bot to answer the press. */
async function press(user: ReturnType<typeof client>, message: BotMessage, action: "accept" | "decline" | "stop") {
  const button = buttons(message).find(
    (b) => decodeCallback(b.data)?.type === "offer" && b.data.includes(`:${action[0]}:`),
  );
  const before = callbackAnswers(server).length;
  await user.press(button!.data, message.message_id);
  await until(() => callbackAnswers(server).length > before, "the press answered");
  return callbackAnswers(server)[before]!.text;
}

/** The message as the emulator holds it now (edits applied). */
const current = (chatId: number, messageId: number) => messages(chatId).find((m) => m.message_id === messageId)!;

describe("offers", () => {
  it("reads well in Russian: the catalogue's Russian words, the brand, one sentence on the time, the category uninflected", async () => {
    const { user, customer } = await linkedCustomer("ru", "Электроника");
    const { issue, message } = await sendOffer(customer.id, user.chatId);
    const text = message.text;
    expect(text).toContain("Здравствуйте, Anna! Вам пишет Acme Records.");
    expect(text).toContain("С вашего последнего заказа прошло 94 дня, и мы скучаем.");
    expect(text.match(/прошло|давно/g)).toHaveLength(1);
    expect(text).toContain("в раздел «Электроника»");
    expect(text).toContain("специально для вас: скидка 15% на следующий заказ.");
    expect(text).toContain("Действует на всё, кроме подарочных карт.");
    expect(text).not.toMatch(/off your|gift cards|магазин/);
    expect(buttons(message).map((b) => b.text)).toEqual(["Воспользоваться", "Не интересно", "Больше не присылать"]);

    // "Use it": the 8-character code once, then the buttons are gone; a second press says so.
    expect(issue.code).toMatch(CODE);
    expect(await press(user, message, "accept")).toBeUndefined();
    const [, confirmation] = await waitFor(user.chatId, 2);
    expect(confirmation!.text).toContain(`Ваш персональный код: ${issue.code}`);
    expect(confirmation!.text).toContain("его примет Acme Records");
    expect(buttons(current(user.chatId, message.message_id))).toEqual([]);
    expect(await press(user, message, "accept")).toBe("Вы уже ответили на это предложение.");
    expect(await press(user, message, "decline")).toBe("Вы уже ответили на это предложение.");
    expect(messages(user.chatId)).toHaveLength(2);
    expect((await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: issue.id } })).status).toBe("accepted");
  });

  it("reads well in English, and the old single-title form is every language's words", async () => {
    const { user, customer } = await linkedCustomer("en", "Jazz");
    const { message } = await sendOffer(customer.id, user.chatId);
    expect(message.text).toContain("Hello, Anna! A message from Acme Records.");
    expect(message.text).toContain("It has been 94 days since your last order, and we miss you.");
    expect(message.text.match(/It has been|a while/g)).toHaveLength(1);
    expect(message.text).toContain('our "Jazz" section, so here is something just for you: 15% off your next order.');
    expect(message.text).toContain("Valid on everything except gift cards.");
    expect(message.text).not.toMatch(/the shop/);

    const ru = await linkedCustomer("ru", "Книги");
    const plain = await sendOffer(ru.customer.id, ru.user.chatId, "plain");
    expect(plain.message.text).toContain("специально для вас: Free shipping.");
  });

  it("confirms 'not interested' and 'stop offers' once each, however often they are pressed (en and ru)", async () => {
    for (const [locale, declined, stopped, already] of [
      ["en", "won't send you offers for a while", "no more offers or surveys", "Offers and surveys are already off."],
      ["ru", "Какое-то время не будем присылать", "больше никаких предложений", "Предложения и опросы уже отключены."],
    ] as const) {
      const { user, customer } = await linkedCustomer(locale, "Books");
      const first = await sendOffer(customer.id, user.chatId);
      const second = await sendOffer(customer.id, user.chatId);
      expect(await press(user, first.message, "decline")).toBeUndefined();
      expect((await waitFor(user.chatId, 3))[2]!.text).toContain(declined);
      await press(user, first.message, "decline");
      expect(buttons(current(user.chatId, first.message.message_id))).toEqual([]);

      expect(await press(user, second.message, "stop")).toBeUndefined();
      expect((await waitFor(user.chatId, 4))[3]!.text).toContain(stopped);
      expect(await press(user, second.message, "stop")).toContain(already);
      expect(buttons(current(user.chatId, second.message.message_id))).toEqual([]);
      // One confirmation per answer: the repeated presses added no message.
      expect(messages(user.chatId)).toHaveLength(4);
      expect(
        await db.prisma.auditLog.count({ where: { action: "offer.declined", entityId: String(first.issue.id) } }),
      ).toBe(1);
    }
  });

  it("removes the buttons of an offer once it has expired, and its old button says so (en and ru)", async () => {
    for (const [locale, expired] of [
      ["en", "Sorry, this offer has expired."],
      ["ru", "К сожалению, срок этого предложения истёк."],
    ] as const) {
      clock = START;
      const { user, customer } = await linkedCustomer(locale, "Books");
      const { issue, message } = await sendOffer(customer.id, user.chatId, "winback-15", 3);
      expect(buttons(message)).toHaveLength(3);
      clock = new Date(START.getTime() + 4 * DAY);
      const stats = await runDispatch(appContext(), running.channel, {});
      expect(stats.offersExpired).toBeGreaterThanOrEqual(1);
      expect(buttons(current(user.chatId, message.message_id))).toEqual([]);
      expect((await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: issue.id } })).status).toBe("expired");
      expect(await press(user, message, "accept")).toBe(expired);
      expect(messages(user.chatId)).toHaveLength(1);
    }
    clock = START;
  });
});

async function token(customerId: number, at = clock) {
  const created = await createLinkToken(db, customerId, { now: at, ttlHours: 72, botUsername: "retention_test_bot" });
  if (!created.ok) throw new Error("no token");
  return created.value.token;
}

describe("linking", () => {
  it("offers the phone button with a used or an expired link (en and ru)", async () => {
    for (const [locale, used, expired] of [
      ["en", "already been used", "has expired"],
      ["ru", "уже использована", "истёк"],
    ] as const) {
      const customer = await makeCustomer(db, { locale });
      const owner = client(locale);
      const usedToken = await token(customer.id);
      await owner.command(`/start ${usedToken}`);
      await waitFor(owner.chatId, 1);
      const stranger = client(locale);
      await stranger.command(`/start ${usedToken}`);
      await stranger.command(`/start ${await token(customer.id, new Date(clock.getTime() - 100 * 3_600_000))}`);
      const [first, second] = await waitFor(stranger.chatId, 2);
      expect(first!.text).toContain(used);
      expect(second!.text).toContain(expired);
      for (const reply of [first!, second!]) {
        expect(reply.text).toContain(BRAND);
        expect(reply.reply_markup?.keyboard).toEqual([[expect.objectContaining({ request_contact: true })]]);
      }
    }
  });

  it("asks the linked chat before moving the account to a second chat: yes moves it (en)", async () => {
    const customer = await makeCustomer(db, { locale: "en" });
    const first = client("en");
    await first.command(`/start ${await token(customer.id)}`);
    await waitFor(first.chatId, 1);
    const before = messages(first.chatId).length;

    const second = client("en");
    const link = await token(customer.id);
    await second.command(`/start ${link}`);
    expect((await waitFor(second.chatId, 1))[0]!.text).toContain("asked that chat to confirm the move");
    const ask = (await waitFor(first.chatId, before + 1))[before]!;
    expect(ask.text).toContain(`Someone opened your personal ${BRAND} link from another Telegram account`);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).telegramChatId).toBe(
      BigInt(first.chatId),
    );
    // Opening the link again asks no second time.
    await second.command(`/start ${link}`);
    await waitFor(second.chatId, 2);
    expect(messages(first.chatId)).toHaveLength(before + 1);

    await first.press(buttons(ask)[0]!.data, ask.message_id);
    expect((await waitFor(first.chatId, before + 2))[before + 1]!.text).toContain("now connected to the other chat");
    expect((await waitFor(second.chatId, 3))[2]!.text).toContain("now connected to your customer account");
    expect(await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).toMatchObject({
      telegramChatId: BigInt(second.chatId),
      telegramLinkedBy: "token",
    });
    // Both messages to the other chats went through the outbox, once each.
    const linkRows = () =>
      db.prisma.outboxMessage.findMany({
        where: { idempotencyKey: { startsWith: `link-move:${link}:` } },
        orderBy: { id: "asc" },
      });
    // Telegram has the message a moment before the outbox records it as sent.
    await until(async () => (await linkRows()).every((r) => r.status === "sent"), "link messages recorded as sent");
    const rows = await linkRows();
    expect(rows.map((r) => [r.kind, r.status, r.customerId, r.providerId])).toEqual([
      ["link_move", "sent", customer.id, String(ask.message_id)],
      ["notice", "sent", customer.id, String(messages(second.chatId)[2]!.message_id)],
    ]);
    // The answered question is spent.
    const answersBefore = callbackAnswers(server).length;
    await first.press(buttons(ask)[1]!.data, ask.message_id);
    await until(() => callbackAnswers(server).length > answersBefore, "stale press answered");
    expect(callbackAnswers(server)[answersBefore]!.text).toBe("This button is no longer active.");
  });

  it("asks the linked chat before moving the account to a second chat: no keeps it, and the link is spent (ru)", async () => {
    const customer = await makeCustomer(db, { locale: "ru" });
    const first = client("ru");
    await first.command(`/start ${await token(customer.id)}`);
    await waitFor(first.chatId, 1);
    const before = messages(first.chatId).length;
    const second = client("ru");
    const link = await token(customer.id);
    await second.command(`/start ${link}`);
    expect((await waitFor(second.chatId, 1))[0]!.text).toContain("попросил тот чат подтвердить перенос");
    const ask = (await waitFor(first.chatId, before + 1))[before]!;
    expect(ask.text).toContain("Перенести ваш аккаунт покупателя в тот чат?");
    expect(buttons(ask).map((b) => b.text)).toEqual(["Да, перенести", "Нет, оставить здесь"]);

    await first.press(buttons(ask)[1]!.data, ask.message_id);
    expect((await waitFor(first.chatId, before + 2))[before + 1]!.text).toContain("остаётся связан с этим чатом");
    const refused = (await waitFor(second.chatId, 2))[1]!;
    expect(refused.text).toContain("не подтвердил перенос");
    expect(refused.reply_markup?.keyboard).toEqual([[expect.objectContaining({ request_contact: true })]]);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).telegramChatId).toBe(
      BigInt(first.chatId),
    );
    // The question and the refusal went through the outbox; the refusal to the chat that asked.
    const linkRows = () =>
      db.prisma.outboxMessage.findMany({
        where: { idempotencyKey: { startsWith: `link-move:${link}:` } },
        orderBy: { id: "asc" },
      });
    // Telegram has the message a moment before the outbox records it as sent.
    await until(async () => (await linkRows()).every((r) => r.status === "sent"), "link messages recorded as sent");
    const rows = await linkRows();
    expect(rows.map((r) => [r.kind, r.status, r.providerId])).toEqual([
      ["link_move", "sent", String(ask.message_id)],
      ["notice", "sent", String(refused.message_id)],
    ]);
    await second.command(`/start ${link}`);
    expect((await waitFor(second.chatId, 3))[2]!.text).toContain("уже использована");
  });
});

describe("/mydata", () => {
  it("goes only to a chat that proved it is the customer's, worded for the person (ru)", async () => {
    const { user, customer } = await linkedCustomer("ru", "Книги");
    // Linked by an import: the chat has not proved anything yet.
    await db.prisma.customer.update({
      where: { id: customer.id },
      data: { telegramLinkedBy: null, phone: "+7 912 555-01-77" },
    });
    await user.command("/mydata");
    const verify = (await waitFor(user.chatId, 1))[0]!;
    expect(verify.text).toContain("мне нужно убедиться, что это ваш чат");
    expect(verify.reply_markup?.keyboard).toEqual([[expect.objectContaining({ request_contact: true })]]);
    expect(verify.document).toBeUndefined();

    await user.text("", { contact: { phone_number: "79125550177", first_name: "Anna", user_id: user.chatId } });
    await waitFor(user.chatId, 2);
    await user.command("/language"); // leaves a conversation state for the export to show
    const choose = (await waitFor(user.chatId, 3))[2]!;
    await user.press(buttons(choose).find((b) => b.text === "Русский")!.data, choose.message_id);
    await waitFor(user.chatId, 4);
    await user.command("/mydata");
    const doc = (await waitFor(user.chatId, 5))[4]!;
    expect(doc.caption).toContain("хранит Acme Records");
    const data = JSON.parse(doc.document!) as {
      scores: { riskOfLeaving: string; reasons: string[]; expectedValue: number }[];
      conversations: { data: { locale?: string } }[];
    };
    expect(data.scores).toEqual([
      expect.objectContaining({
        riskOfLeaving: "высокий",
        segment: "At risk",
        reasons: ["нет покупок 94 дня; обычно раз в 21 день"],
        expectedValue: 123.46,
      }),
    ]);
    expect(doc.document).not.toContain("0.9999");
    expect(doc.document).not.toContain("churnProbability");
    expect(data.conversations).toEqual([expect.objectContaining({ data: expect.objectContaining({ locale: "ru" }) })]);
  });

  it("words the scores in English for an English chat linked by its link", async () => {
    const { user } = await linkedCustomer("en", "Jazz");
    await user.command("/mydata");
    const doc = (await waitFor(user.chatId, 1))[0]!;
    const data = JSON.parse(doc.document!) as { scores: { riskOfLeaving: string; reasons: string[] }[] };
    expect(data.scores[0]).toMatchObject({
      riskOfLeaving: "high",
      reasons: ["no purchase for 94 days; usually every 21"],
    });
  });
});
