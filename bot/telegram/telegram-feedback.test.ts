// End to end on the emulator: NPS for a detractor, SERVQUAL across a bot restart, a complaint
// with staff replies and CSAT, /mydata, /forget, and both languages.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { decodeCallback } from "../../core/messaging/callback-data";
import { enqueueMessages } from "../../core/messaging/outbox";
import { addStaffReply, resolveTicket } from "../../core/tickets/tickets";
import { runDispatch } from "../../jobs/dispatch.job";
import { buttons, emulatorUser, waitForMessages } from "./test-harness";
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
let nextChat = 8000;
let clock = NOW;

async function linked(options: { locale?: string } = {}) {
  const user = emulatorUser(server, TEST_TOKEN, nextChat++, options);
  const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), locale: options.locale ?? null });
  return { user, customer };
}

async function send(customerId: number, kind: "survey_nps" | "survey_servqual", key: string) {
  await enqueueMessages(db, [{ idempotencyKey: key, customerId, kind, payload: {}, notBefore: NOW }], { now: NOW });
  const stats = await runDispatch(
    { config: testConfig(server), db, log: silentLogger, now: () => NOW, close: async () => undefined },
    running.channel,
    {},
  );
  expect(stats.sent).toBe(1);
}

beforeAll(async () => {
  ({ db, server, running } = await startBotOnEmulator({ now: () => clock }));
});

afterAll(() => stopBotOnEmulator({ db, server, running }));

describe("NPS", () => {
  it("asks a detractor what went wrong, tags the answer, opens a ticket and raises a staff event", async () => {
    const { user, customer } = await linked();
    await send(customer.id, "survey_nps", "nps:1");
    const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    expect(buttons(question).map((b) => b.text)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    const three = buttons(question).find((b) => b.text === "3")!;
    await user.press(three.data, question!.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text).toContain("What went wrong");

    await user.text("The parcel arrived two weeks late and the box was damaged");
    const replies = await waitForMessages(server, TEST_TOKEN, user.chatId, 4);
    expect(replies[2]!.text).toContain("Thank you for your feedback");
    const reference = /T-\d+/.exec(replies[3]!.text)?.[0];
    expect(reference).toBeDefined();

    const feedback = await db.prisma.feedback.findFirstOrThrow({ where: { customerId: customer.id, kind: "nps" } });
    expect(feedback.score).toBe(3);
    expect(feedback.comment).toContain("parcel");
    expect(feedback.themes).toEqual(expect.arrayContaining(["delivery", "quality"]));
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference: reference! } });
    expect(ticket).toMatchObject({ customerId: customer.id, source: "nps_detractor", status: "open" });
    // Staff were alerted with the score, before the comment; the comment joined the ticket.
    const events = await db.prisma.staffEvent.findMany({ where: { type: "nps_detractor" } });
    expect(events.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ ticketId: ticket.id, customerId: customer.id, score: 3 }),
    );
    expect(
      await db.prisma.staffEvent.count({
        where: { type: "ticket_message", payload: { path: ["ticketId"], equals: ticket.id } },
      }),
    ).toBe(1);
    expect(feedback.ticketId).toBe(ticket.id);

    // The same button again: a clear answer, no second score.
    await user.press(three.data, question!.message_id);
    await new Promise((r) => setTimeout(r, 300));
    expect(await db.prisma.feedback.count({ where: { customerId: customer.id, kind: "nps" } })).toBe(1);
  });

  it("asks a promoter what they like most", async () => {
    const { user, customer } = await linked();
    await send(customer.id, "survey_nps", "nps:2");
    const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    await user.press(buttons(question).find((b) => b.text === "10")!.data, question!.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text).toContain("What do you like most");
    await user.text("Great choice of jazz");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 3);
    expect(await db.prisma.ticket.count({ where: { customerId: customer.id } })).toBe(0);
  });
});

describe("SERVQUAL", () => {
  it("survives a bot restart mid-survey and stores a gap per dimension", async () => {
    const { user, customer } = await linked();
    await send(customer.id, "survey_servqual", "sq:1");
    const [invite] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    await user.press(buttons(invite)[0]!.data, invite!.message_id);
    let messages = await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(messages[1]!.text).toContain("Question 1 of 10");
    // Kept before answering: an answered question's buttons are removed.
    const staleButton = buttons(messages[1])[0]!;
    const answer = async (value: number, expectCount: number) => {
      const current = messages[messages.length - 1]!;
      const button = buttons(current).find((b) => b.text === String(value))!;
      await user.press(button.data, current.message_id);
      messages = await waitForMessages(server, TEST_TOKEN, user.chatId, expectCount);
    };
    await answer(6, 3);
    await answer(4, 4);
    const firstQuestion = messages[1]!;
    expect(buttons(firstQuestion)).toEqual([]);

    await running.stop();
    running = await runTestBot(db, server, { now: () => clock });

    expect(messages[3]!.text).toContain("Question 3 of 10");
    // An old button from before the restart is stale and changes nothing.
    await user.press(staleButton.data, firstQuestion.message_id);
    const values = [7, 6, 5, 5, 6, 2, 4, 5];
    for (const [i, v] of values.entries()) await answer(v, 5 + i);
    expect(messages[messages.length - 1]!.text).toContain("That's all");

    const rows = await db.prisma.feedback.findMany({
      where: { customerId: customer.id, kind: "servqual" },
      orderBy: { id: "asc" },
    });
    expect(rows.map((r) => [r.dimension, r.expectation, r.perception, r.gap])).toEqual([
      ["tangibles", 6, 4, -2],
      ["reliability", 7, 6, -1],
      ["responsiveness", 5, 5, 0],
      ["assurance", 6, 2, -4],
      ["empathy", 4, 5, 1],
    ]);
  });
});

describe("complaints", () => {
  it("acknowledges with a reference, delivers staff replies, keeps notes internal, and asks for CSAT", async () => {
    const { user, customer } = await linked();
    await user.command("/complaint");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    await user.text("My order 5521 never arrived");
    const ack = (await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!;
    const reference = /T-\d+/.exec(ack.text)![0];
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
    expect(ticket.source).toBe("complaint");
    expect(
      await db.prisma.staffEvent.count({
        where: { type: "ticket_opened", payload: { path: ["ticketId"], equals: ticket.id } },
      }),
    ).toBe(1);

    // Two minutes later: not the same burst, so this message is acknowledged too.
    clock = new Date(NOW.getTime() + 2 * 60_000);
    await user.text("It was a birthday present");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!.text).toContain(
      `Added to your request ${reference}`,
    );

    const later = new Date(NOW.getTime() + 15 * 60_000);
    const note = await addStaffReply(
      db,
      ticket.id,
      { text: "Courier lost it, refund approved", staffId: "U1", internal: true },
      { channel: running.channel, now: later },
    );
    expect(note).toMatchObject({ ok: true, value: { delivery: null } });
    const reply = await addStaffReply(
      db,
      ticket.id,
      { text: "Sorry! A new copy ships today.", staffId: "U1", internal: false },
      { channel: running.channel, now: later },
    );
    expect(reply).toMatchObject({ ok: true, value: { delivery: "sent" } });
    const delivered = (await waitForMessages(server, TEST_TOKEN, user.chatId, 4))[3]!;
    expect(delivered.text).toContain("A new copy ships today");
    expect(delivered.text).not.toContain("refund approved");

    const resolved = await resolveTicket(db, ticket.id, {
      channel: running.channel,
      now: new Date(later.getTime() + 60_000),
      staffId: "U1",
    });
    expect(resolved).toMatchObject({ ok: true, value: { firstResponseMs: 15 * 60_000, csat: "sent" } });
    const csat = (await waitForMessages(server, TEST_TOKEN, user.chatId, 5))[4]!;
    expect(csat.text).toContain(reference);
    const five = buttons(csat).find((b) => b.text === "5")!;
    expect(decodeCallback(five.data)).toEqual({ type: "csat", ticketId: ticket.id, score: 5 });
    await user.press(five.data, csat.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 6))[5]!.text).toContain("Thank you for your rating");
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).csatScore).toBe(5);
    expect(await db.prisma.feedback.count({ where: { customerId: customer.id, kind: "csat", score: 5 } })).toBe(1);
  });
});

describe("data rights", () => {
  it("/mydata sends a JSON document of what we hold", async () => {
    const { user, customer } = await linked();
    await user.command("/mydata");
    const [doc] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    expect(doc!.caption).toContain("JSON");
    const data = JSON.parse(doc!.document!) as { customer: { externalId: string; name: string }; purchases: unknown[] };
    expect(data.customer).toMatchObject({ externalId: customer.externalId, name: "Anna Petrova" });
    expect(data.purchases).toHaveLength(3);
    expect(await db.prisma.auditLog.count({ where: { action: "gdpr.export", entityId: String(customer.id) } })).toBe(1);
  });

  it("/forget erases personal data after confirmation, keeping anonymous aggregates", async () => {
    const { user, customer } = await linked();
    await db.prisma.feedback.create({
      data: { customerId: customer.id, kind: "nps", score: 9, comment: "Anna loves it" },
    });
    await user.command("/forget");
    const confirm = (await waitForMessages(server, TEST_TOKEN, user.chatId, 1))[0]!;
    expect(buttons(confirm).map((b) => decodeCallback(b.data))).toEqual([
      { type: "forget", confirm: true },
      { type: "forget", confirm: false },
    ]);
    await user.press(buttons(confirm)[0]!.data, confirm.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text).toContain("has been deleted");

    // What is kept moved onto an anonymous row with a random key; the customer's row is gone.
    expect(await db.prisma.customer.findUnique({ where: { id: customer.id } })).toBeNull();
    const row = await db.prisma.customer.findFirstOrThrow({
      where: { erasedAt: { not: null }, purchases: { some: { category: "jazz" } } },
      orderBy: { id: "desc" },
    });
    expect(row.externalId).toMatch(/^erased:/);
    expect(row).toMatchObject({
      name: null,
      email: null,
      phone: null,
      telegramChatId: null,
      telegramUserId: null,
      attributes: {},
    });
    expect(row.erasedAt).not.toBeNull();
    expect(await db.prisma.purchase.count({ where: { customerId: row.id } })).toBe(3);
    const anonymous = await db.prisma.feedback.findMany({ where: { score: 9, kind: "nps", customerId: null } });
    expect(anonymous.map((f) => f.comment)).toContain(null);
    expect(await db.prisma.conversation.count({ where: { key: `tg:${user.chatId}` } })).toBe(0);
    expect(await db.prisma.auditLog.count({ where: { action: "gdpr.erase", entityId: String(customer.id) } })).toBe(1);
    expect(await db.prisma.auditLog.count({ where: { actor: `telegram:${user.chatId}` } })).toBe(0);

    // The chat is now a stranger's.
    await user.command("/mydata");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!.text).toContain("don't know you yet");
  });
});

describe("languages", () => {
  it("speaks Russian from Telegram's language_code, and switches with /language", async () => {
    const { user, customer } = await linked({ locale: "ru" });
    await user.command("/help");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 1))[0]!.text).toContain("Что я умею");
    await send(customer.id, "survey_nps", "nps:ru");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text).toContain("порекомендуете");

    await user.command("/language");
    const choose = (await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!;
    await user.press(buttons(choose).find((b) => b.text === "English")!.data, choose.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 4))[3]!.text).toBe("The language is now English.");
    await user.command("/help");
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 5))[4]!.text).toContain("Here is what I can do");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).locale).toBe("en");
  });
});
