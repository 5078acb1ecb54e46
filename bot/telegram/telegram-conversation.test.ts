// End to end on the emulator with the real bot: the conversation core's flows, their expiry and
// exits, small talk without tickets, a silent detractor, media joining a complaint, one
// acknowledgement per burst, consent asked once at linking, and commands in any case; in English
// and Russian. The clock is injected and moved by the tests.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeFeatures } from "../../core/analytics/features";
import type { Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { decodeCallback } from "../../core/messaging/callback-data";
import { enqueueMessages } from "../../core/messaging/outbox";
import { createLinkToken } from "../../core/linking/linking";
import { runDispatch } from "../../jobs/dispatch.job";
import { botMessages, buttons, emulatorUser, waitForMessages } from "./test-harness";
import {
  makeCustomer,
  testConfig,
  TEST_TOKEN,
  type RunningTestBot,
  startBotOnEmulator,
  stopBotOnEmulator,
} from "./test-fixtures";

const START = new Date("2026-11-20T12:00:00Z");
let clock = START;
let db: Database;
let server: TelegramServer;
let running: RunningTestBot;
let nextChat = 12_000;

const advance = (ms: number) => {
  clock = new Date(clock.getTime() + ms);
};

async function linked(locale: "en" | "ru" = "en") {
  const user = emulatorUser(server, TEST_TOKEN, nextChat++, { locale });
  const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), locale });
  await db.prisma.customer.update({ where: { id: customer.id }, data: { marketingConsent: true } });
  return { user, customer };
}

/** Waits until the customer's ticket messages reach `count` (the bot handled that many requests). */
async function waitForTicketMessages(customerId: number, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const n = await db.prisma.ticketMessage.count({ where: { ticket: { customerId } } });
    if (n >= count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} ticket messages, got ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sendNps(customerId: number, key: string): Promise<void> {
  await enqueueMessages(db, [{ idempotencyKey: key, customerId, kind: "survey_nps", payload: {}, notBefore: clock }], {
    now: clock,
  });
  const stats = await runDispatch(
    { config: testConfig(server), db, log: silentLogger, now: () => clock, close: async () => undefined },
    running.channel,
  );
  expect(stats.sent).toBe(1);
}

beforeAll(async () => {
  ({ db, server, running } = await startBotOnEmulator({ now: () => clock }));
});

afterAll(() => stopBotOnEmulator({ db, server, running }));

/** What each language's test writes and expects. */
const WORDS = {
  en: {
    firstQuestion: "Question 1 of 10",
    exits: ["Skip", "Stop survey"],
    later: "Actually, I have a question about my last order: it never arrived.",
    logged: /logged as T-\d+.*within 24 hours/s,
    // A statement the NPS follow-up would take as its comment while it waits.
    statement: "The parcel from last week is still not here",
    complaint: "The blender arrived broken",
    caption: "Here is the crack",
    burst: (i: number) => `My order has not arrived, message ${i}`,
    thanks: "thanks",
    welcome: "You're welcome! Writ",
  },
  ru: {
    firstQuestion: "Вопрос 1 из 10",
    exits: ["Пропустить", "Закончить опрос"],
    later: "Вообще-то у меня вопрос по последнему заказу: он так и не пришёл.",
    logged: /номером T-\d+.*в течение 24 часов/s,
    statement: "Посылка с прошлой недели до сих пор не пришла",
    complaint: "Блендер пришёл разбитым",
    caption: "Вот трещина",
    burst: (i: number) => `Мой заказ не пришёл, сообщение ${i}`,
    thanks: "спасибо",
    welcome: "Пожалуйста! Пишите в",
  },
} as const;
const LOCALES = ["en", "ru"] as const;

describe("flows expire and have exits", () => {
  for (const locale of LOCALES)
    it(`handles a question asked an hour after an abandoned survey as a question (${locale})`, async () => {
      const words = WORDS[locale];
      const { user, customer } = await linked(locale);
      await user.command("/survey");
      const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
      expect(question!.text).toContain(words.firstQuestion);
      expect(buttons(question).map((b) => b.text)).toEqual(["1", "2", "3", "4", "5", "6", "7", ...words.exits]);

      advance(61 * 60_000);
      await user.text(words.later);
      const reply = (await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!;
      expect(reply.text).toMatch(words.logged);
      const message = await db.prisma.ticketMessage.findFirstOrThrow({
        where: { ticket: { customerId: customer.id } },
      });
      expect(message.text).toBe(words.later);
      expect(await db.prisma.feedback.count({ where: { customerId: customer.id, kind: "servqual" } })).toBe(0);

      // The old survey's buttons no longer act.
      await user.press(buttons(question)[2]!.data, question!.message_id);
      await new Promise((r) => setTimeout(r, 300));
      expect(botMessages(server, TEST_TOKEN, user.chatId)).toHaveLength(2);
    });

  for (const locale of LOCALES)
    it(`handles a message an hour after an unanswered NPS follow-up as a new request, not the comment (${locale})`, async () => {
      const words = WORDS[locale];
      const { user, customer } = await linked(locale);
      await sendNps(customer.id, `nps:later:${customer.id}`);
      const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
      await user.press(buttons(question).find((b) => b.text === "7")!.data, question!.message_id);
      await waitForMessages(server, TEST_TOKEN, user.chatId, 2);

      advance(61 * 60_000);
      await user.text(words.statement);
      const reply = (await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!;
      expect(reply.text).toMatch(words.logged);
      const feedback = await db.prisma.feedback.findFirstOrThrow({ where: { customerId: customer.id, kind: "nps" } });
      expect(feedback).toMatchObject({ score: 7, comment: null });
      const ticket = await db.prisma.ticket.findFirstOrThrow({
        where: { customerId: customer.id },
        include: { messages: true },
      });
      expect(ticket.messages.map((m) => m.text)).toEqual([words.statement]);
    });

  it("leaves a survey on a text that is not an answer, and on its Stop button (RU)", async () => {
    const { user, customer } = await linked("ru");
    await user.command("/survey");
    const [first] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    expect(first!.text).toContain("Вопрос 1 из 10");
    await user.text("5");
    const second = (await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!;
    expect(second.text).toContain("Вопрос 2 из 10");
    const stop = buttons(second).find((b) => b.text === "Закончить опрос")!;
    expect(decodeCallback(stop.data)).toEqual({ type: "servqual_exit", exit: "stop", step: 1 });
    await user.press(stop.data, second.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!.text).toContain("Опрос остановлен");

    await user.command("/survey");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 4);
    await user.text("Где мой заказ 4411? Его так и не привезли");
    const reply = (await waitForMessages(server, TEST_TOKEN, user.chatId, 5))[4]!;
    expect(reply.text).toMatch(/номером T-\d+.*в течение 24 часов/s);
    expect(await db.prisma.ticket.count({ where: { customerId: customer.id } })).toBe(1);
  });
});

describe("small talk and bursts", () => {
  it("answers thanks, greetings and emoji without a ticket, in both languages", async () => {
    const en = await linked("en");
    await en.user.text("Thanks!");
    await en.user.text("👍");
    await en.user.text("Hello");
    const replies = await waitForMessages(server, TEST_TOKEN, en.user.chatId, 3);
    expect(replies[0]!.text).toContain("You're welcome");
    const ru = await linked("ru");
    await ru.user.text("Спасибо большое!");
    expect((await waitForMessages(server, TEST_TOKEN, ru.user.chatId, 1))[0]!.text).toContain("Пожалуйста");
    expect(await db.prisma.ticket.count({ where: { customerId: { in: [en.customer.id, ru.customer.id] } } })).toBe(0);
  });

  for (const locale of LOCALES)
    it(`acknowledges 20 messages in 10 seconds once, all in one ticket (${locale})`, async () => {
      const words = WORDS[locale];
      const { user, customer } = await linked(locale);
      for (let i = 0; i < 20; i++) {
        await user.text(words.burst(i + 1));
        advance(500);
      }
      await waitForTicketMessages(customer.id, 20);
      // A later small talk message proves every earlier update was handled before we count.
      await user.text(words.thanks);
      const all = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
      await new Promise((r) => setTimeout(r, 200));
      expect(botMessages(server, TEST_TOKEN, user.chatId).map((m) => m.text.slice(0, 20))).toEqual([
        all[0]!.text.slice(0, 20),
        words.welcome,
      ]);
      expect(all[0]!.text).toMatch(words.logged);
      expect(await db.prisma.ticket.count({ where: { customerId: customer.id } })).toBe(1);
    });
});

describe("detractors and complaints reach staff", () => {
  for (const locale of LOCALES)
    it(`opens a ticket and alerts staff for a silent detractor (${locale})`, async () => {
      const { user, customer } = await linked(locale);
      await sendNps(customer.id, `nps:silent:${customer.id}`);
      const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
      const two = buttons(question).find((b) => b.text === "2")!;
      await user.press(two.data, question!.message_id);
      await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
      const ticket = await db.prisma.ticket.findFirstOrThrow({ where: { customerId: customer.id } });
      expect(ticket).toMatchObject({ source: "nps_detractor", status: "open", priority: "high" });
      const events = await db.prisma.staffEvent.findMany({ where: { type: "nps_detractor" } });
      expect(events.map((e) => e.payload)).toContainEqual(
        expect.objectContaining({ ticketId: ticket.id, customerId: customer.id, score: 2 }),
      );
    });

  for (const locale of LOCALES)
    it(`joins a photo with its caption to an open complaint, tells staff, and counts the complaint in scoring (${locale})`, async () => {
      const words = WORDS[locale];
      const { user, customer } = await linked(locale);
      await user.command("/complaint");
      await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
      await user.text(words.complaint);
      const ack = (await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!;
      const reference = /T-\d+/.exec(ack.text)![0];
      advance(5 * 60_000);
      await user.text(words.caption, {
        caption: words.caption,
        photo: [
          { file_id: "small-photo", file_unique_id: "s", width: 90, height: 90 },
          { file_id: "large-photo", file_unique_id: "l", width: 900, height: 900 },
        ],
      });
      expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!.text).toContain(reference);
      const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference }, include: { messages: true } });
      expect(ticket.source).toBe("complaint");
      const photo = ticket.messages.find((m) => m.attachments !== null)!;
      expect(photo.text).toBe(words.caption);
      expect(photo.attachments).toEqual([{ kind: "photo", fileId: "large-photo" }]);
      const events = await db.prisma.staffEvent.findMany({ where: { type: "ticket_message" } });
      expect(events.map((e) => e.payload)).toContainEqual(
        expect.objectContaining({
          ticketId: ticket.id,
          messageId: photo.id,
          preview: words.caption,
          attachments: 1,
        }),
      );

      const complaint = await db.prisma.feedback.findFirstOrThrow({
        where: { customerId: customer.id, kind: "complaint" },
      });
      expect(complaint.themes).toContain("quality");
      const { rows } = await computeFeatures(db, { asOf: new Date(clock.getTime() + 60_000) });
      expect(rows.find((r) => r.customerId === customer.id)).toMatchObject({ complaints90: 1, complaintsTotal: 1 });
    });
});

describe("media in a complaint", () => {
  for (const locale of LOCALES)
    it(`joins a document with its caption, a bare voice message and a video note to the open complaint (${locale})`, async () => {
      const words = WORDS[locale];
      const { user, customer } = await linked(locale);
      await user.command("/complaint");
      await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
      await user.text(words.complaint);
      const reference = /T-\d+/.exec((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text)![0];
      const media = [
        {
          text: words.caption,
          extra: { caption: words.caption, document: { file_id: "receipt-pdf", file_unique_id: "d" } },
        },
        { text: "", extra: { voice: { file_id: "voice-1", file_unique_id: "v", duration: 4 } } },
        { text: "", extra: { video_note: { file_id: "round-1", file_unique_id: "r", length: 240, duration: 5 } } },
      ];
      for (const [i, { text, extra }] of media.entries()) {
        advance(2 * 60_000); // past the burst window: each is acknowledged
        await user.text(text, extra);
        expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3 + i))[2 + i]!.text).toContain(reference);
      }
      const ticket = await db.prisma.ticket.findUniqueOrThrow({
        where: { reference },
        include: { messages: { orderBy: { id: "asc" } } },
      });
      expect(ticket.customerId).toBe(customer.id);
      expect(ticket.messages.map((m) => [m.text, m.attachments])).toEqual([
        [words.complaint, null],
        [words.caption, [{ kind: "document", fileId: "receipt-pdf" }]],
        // Without a caption the ticket names what came.
        ["[voice]", [{ kind: "voice", fileId: "voice-1" }]],
        ["[video_note]", [{ kind: "video_note", fileId: "round-1" }]],
      ]);
      // Staff are told of each that joined the ticket, with the number of files.
      const events = await db.prisma.staffEvent.findMany({ where: { type: "ticket_message" } });
      const told = events.filter((e) => (e.payload as { ticketId?: number }).ticketId === ticket.id);
      expect(told.map((e) => (e.payload as { attachments?: number }).attachments)).toEqual([1, 1, 1]);
    });
});

describe("linking and commands", () => {
  it("asks once for consent when a chat is linked, records the answer, and takes /START in capitals", async () => {
    const user = emulatorUser(server, TEST_TOKEN, nextChat++, { locale: "en" });
    const customer = await makeCustomer(db, { chatId: null });
    await db.prisma.customer.update({ where: { id: customer.id }, data: { marketingConsent: false } });
    const created = await createLinkToken(db, customer.id, {
      now: clock,
      ttlHours: 72,
      botUsername: "retention_test_bot",
    });
    if (!created.ok) throw new Error("no token");
    await user.command(`/START ${created.value.token}`);
    const [linkedMsg, ask] = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(linkedMsg!.text).toContain("connected");
    expect(ask!.text).toContain("personal offers");
    await user.press(buttons(ask)[0]!.data, ask!.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!.text).toContain("Offers and surveys are on");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).marketingConsent).toBe(true);
    const audit = await db.prisma.auditLog.findFirstOrThrow({
      where: { action: "consent.opt_in", entityId: String(customer.id) },
    });
    expect(audit.createdAt).toEqual(clock);
    expect(audit.details).toMatchObject({ source: "telegram" });

    await user.command("/STOP");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 4))[3]!.text).toContain("no more offers");
  });
});
