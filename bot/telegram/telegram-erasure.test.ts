// Erasure end to end, in English and Russian: a customer with everything the product can hold
// about a person (contacts, Telegram ids, a complaint with a flat number, an NPS comment, a link
// token, purchases and refunds, scores, an offer, outbox rows, staff events, audit rows and a
// ticket posted to Slack) sends /forget and confirms. Then every table of the database is read
// row by row as text, and none of the person's values may appear anywhere; the Slack posts the
// app made about them are edited to carry none either. Then the shop's files are imported again
// (customers, orders with and without --create-customers, the live feed's POST /v1/customers and
// /v1/orders): the person is skipped as "erased on request" and the scan still finds nothing.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import { Prisma } from "../../core/db/client";
import { importFile } from "../../core/import/importer";
import { createLinkToken } from "../../core/linking/linking";
import { silentLogger } from "../../core/log";
import { enqueueMessages } from "../../core/messaging/outbox";
import { runDispatch } from "../../jobs/dispatch.job";
import { createIngestRoutes } from "../../jobs/ingest/routes";
import { createTestDatabase, describeEachDatabase, type DatabaseKind } from "../../test/helpers/db";
import { until } from "../../test/helpers/wait";
import { startSlackHarness, type SlackHarness } from "../slack/testing/harness";
import { botMessages, buttons, emulatorUser, startEmulator, type BotMessage } from "./test-harness";
import { makeOfferIssue, runTestBot, testConfig, TEST_TOKEN, type RunningTestBot } from "./test-fixtures";

const NOW = new Date("2026-11-20T12:00:00Z");

interface Person {
  locale: "en" | "ru";
  chatId: number;
  externalId: string;
  name: string;
  email: string;
  /** As the shop typed it, and as stored (E.164). */
  rawPhone: string;
  phone: string;
  orderIds: string[];
  complaint: string;
  followUp: string;
  npsComment: string;
}

const PEOPLE: Person[] = [
  {
    locale: "en",
    chatId: 5550123401,
    externalId: "SHOP-884213",
    name: "Zinaida Kwiatkowska",
    email: "zinaida.kw@example.org",
    rawPhone: "8 (916) 123-45-67",
    phone: "+79161234567",
    orderIds: ["ORD-771001", "ORD-771002"],
    complaint: "The courier left my parcel outside flat 417 at Lesnaya 12 and it was stolen",
    followUp: "Please call me back, my neighbour in flat 418 saw him",
    npsComment: "Parcel thrown over the fence of Lesnaya 12 again",
  },
  {
    locale: "ru",
    chatId: 5550123402,
    externalId: "SHOP-884299",
    name: "Зинаида Квятковская",
    email: "zinaida.kv@example.ru",
    rawPhone: "8 (916) 765-43-21",
    phone: "+79167654321",
    orderIds: ["ORD-772001", "ORD-772002"],
    complaint: "Курьер оставил посылку у квартиры 417 на Лесной 12, и её украли",
    followUp: "Перезвоните мне, соседка из квартиры 418 его видела",
    npsComment: "Посылку опять перекинули через забор на Лесной 12",
  },
];

/** Every value of the person that must not survive erasure anywhere. */
function personalValues(p: Person): string[] {
  const digits = p.phone.replace(/\D/g, "");
  return [
    p.externalId,
    p.name,
    p.email,
    p.rawPhone,
    p.phone,
    digits,
    digits.slice(1), // the national number, as in "8 916 ..." or "+7 916 ..."
    String(p.chatId), // Telegram user id and private chat id are the same number
    p.complaint,
    p.followUp,
    p.npsComment,
    ...p.orderIds,
    ...p.orderIds.map((id) => `${id}-R`),
  ];
}

/** Every row of every table of the database, as text: `SELECT t::text FROM <table> t`. */
async function everyRow(db: Database): Promise<{ table: string; row: string }[]> {
  const tables = await db.prisma.$queryRaw<{ table_name: string }[]>`
    SELECT table_name::text AS table_name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`;
  const rows: { table: string; row: string }[] = [];
  for (const { table_name: table } of tables) {
    const found = await db.prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT t::text AS row FROM "${table}" t`);
    for (const r of found) rows.push({ table, row: r.row });
  }
  return rows;
}

function findings(rows: { table: string; row: string }[], values: string[]): string[] {
  const out: string[] = [];
  for (const value of values)
    for (const r of rows)
      if (r.row.toLowerCase().includes(value.toLowerCase())) out.push(`${value} in ${r.table}: ${r.row.slice(0, 300)}`);
  return out;
}

/** The shop's customer file again: the person, the person under new numbers, and someone else. */
function customersFile(dir: string, p: Person): string {
  const file = path.join(dir, `customers-${p.locale}.csv`);
  writeFileSync(
    file,
    [
      "customer_id,name,email,phone",
      `${p.externalId},"${p.name}",${p.email},${p.rawPhone}`,
      // A new customer number with the same e-mail (as the shop may write it) or the same phone.
      `NEW-1-${p.locale},"${p.name}",${p.email.toUpperCase()},`,
      `NEW-2-${p.locale},,,${p.rawPhone}`,
      `OTHER-${p.locale},Somebody Else,other-${p.locale}@example.net,`,
    ].join("\n") + "\n",
  );
  return file;
}

/** The shop's orders file again: the person's orders and one of someone else. */
function ordersFile(dir: string, p: Person): string {
  const file = path.join(dir, `orders-${p.locale}.csv`);
  writeFileSync(
    file,
    [
      "order_id,customer_id,date,amount",
      ...p.orderIds.map((id, i) => `${id},${p.externalId},2026-06-0${i + 1},${40 + i}`),
      `OTHER-ORD-${p.locale},OTHER-${p.locale},2026-06-03,12`,
    ].join("\n") + "\n",
  );
  return file;
}

describeEachDatabase("erasure leaves nothing personal", (kind: DatabaseKind) => {
  let db: Database;
  let server: TelegramServer;
  let bot: RunningTestBot;
  let slack: SlackHarness;
  let feed: Server;
  let feedUrl: string;
  let config: Config;
  const files = mkdtempSync(path.join(os.tmpdir(), "erasure-reimport-"));
  let clock = NOW;
  const now = () => clock;
  const advance = (minutes: number) => {
    clock = new Date(clock.getTime() + minutes * 60_000);
  };

  /** Waits for the bot's next message to the chat containing `text` (after `seen` messages). */
  async function nextSaying(chatId: number, seen: number, pattern: RegExp): Promise<BotMessage> {
    let found: BotMessage | undefined;
    await until(
      () => {
        found = botMessages(server, TEST_TOKEN, chatId)
          .slice(seen)
          .find((m) => pattern.test(m.text));
        return Boolean(found);
      },
      `a bot message to ${chatId} matching ${String(pattern)}`,
    );
    return found!;
  }
  const count = (chatId: number) => botMessages(server, TEST_TOKEN, chatId).length;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    server = await startEmulator();
    // The suppression list's key from the configuration; phones without a country code read as Russian.
    config = testConfig(server, { ERASURE_KEY: "test-erasure-key-0123456789abcdefghijkl", PHONE_DEFAULT_REGION: "RU" });
    bot = await runTestBot(db, server, { now, config });
    slack = await startSlackHarness({ db, now, telegramChannel: bot.channel });
    const routes = createIngestRoutes({
      db,
      apiKeys: ["k-erasure"],
      timeZone: "UTC",
      now,
      erasure: config.erasure,
    });
    feed = createServer((req, res) => void routes(req, res));
    await new Promise<void>((resolve) => feed.listen(0, "127.0.0.1", resolve));
    feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => feed?.close(resolve));
    await slack?.close();
    await bot?.stop();
    await server?.stop();
    await db?.close();
  });

  /** Builds the person's whole history through the product's own paths; returns their customer id. */
  async function customerWithHistory(p: Person): Promise<number> {
    const customer = await db.prisma.customer.create({
      data: {
        externalId: p.externalId,
        name: p.name,
        email: p.email,
        phone: p.phone,
        locale: p.locale,
        attributes: { tier: "gold", phoneAsTyped: p.rawPhone },
        marketingConsent: true,
      },
    });
    for (const [i, orderId] of p.orderIds.entries())
      await db.prisma.purchase.create({
        data: {
          externalId: orderId,
          customerId: customer.id,
          purchasedAt: new Date(Date.UTC(2026, 5, 1 + i)),
          amount: new Prisma.Decimal(40 + i),
          category: "jazz",
        },
      });
    await db.prisma.refund.create({
      data: {
        externalId: `${p.orderIds[0]}-R`,
        customerId: customer.id,
        orderExternalId: p.orderIds[0],
        refundedAt: new Date(Date.UTC(2026, 5, 5)),
        amount: new Prisma.Decimal(10),
      },
    });
    const run = await db.prisma.scoreRun.create({ data: { asOf: NOW, customers: 1, finishedAt: NOW } });
    await db.prisma.score.create({
      data: {
        runId: run.id,
        customerId: customer.id,
        asOf: NOW,
        churnProbability: 0.8,
        riskBand: "high",
        segment: "At risk",
        clv: 120,
        reasons: [["recency_gap", 1, 94, 21]],
      },
    });
    await makeOfferIssue(db, customer.id, NOW);
    // Staff asked the assistant about them; the model was shown their profile.
    await db.prisma.assistantQuestion.create({
      data: {
        slackUserId: "USTAFF1",
        question: `Why is ${p.externalId} at risk?`,
        answer: `${p.name} has not ordered since June; write to ${p.email}`,
        toolCalls: [{ name: "customer_profile", args: { ref: p.externalId }, result: { name: p.name } }],
        disclosed: [p.externalId],
      },
    });

    // Linked through the personal deep link, as the shop sends it.
    const link = await createLinkToken(db, p.externalId, {
      now: NOW,
      ttlHours: 72,
      botUsername: "retention_test_bot",
      actor: "cli",
    });
    if (!link.ok) throw new Error("no link token");
    // A second link, never used, stays in link_tokens until the erasure.
    await createLinkToken(db, customer.id, { now: NOW, ttlHours: 72, botUsername: "retention_test_bot" });
    const user = emulatorUser(server, TEST_TOKEN, p.chatId, { locale: p.locale });
    await user.command(`/start ${link.value.token}`);
    await until(
      async () =>
        (await db.prisma.customer.findUniqueOrThrow({ where: { id: customer.id } })).telegramChatId ===
        BigInt(p.chatId),
      "the chat linked",
    );

    // A complaint with a flat number, posted to Slack, and a follow-up in its thread.
    let seen = count(p.chatId);
    await user.command("/complaint");
    await nextSaying(p.chatId, seen, /./);
    seen = count(p.chatId);
    await user.text(p.complaint);
    await nextSaying(p.chatId, seen, /T-\d+/);
    await slack.parts.desk.pollOnce();
    advance(5);
    seen = count(p.chatId);
    await user.text(p.followUp);
    await nextSaying(p.chatId, seen, /T-\d+/);
    await slack.parts.desk.pollOnce();

    // An NPS question through the outbox, answered as a detractor with a comment.
    advance(5);
    await enqueueMessages(
      db,
      [
        {
          idempotencyKey: `nps:${p.chatId}`,
          customerId: customer.id,
          kind: "survey_nps",
          payload: {},
          notBefore: clock,
        },
      ],
      { now: clock },
    );
    await runDispatch(
      { config: testConfig(server), db, log: silentLogger, now, close: async () => undefined },
      bot.channel,
      {},
    );
    const question = await nextSaying(p.chatId, seen, /0.+10|10.+0/s);
    seen = count(p.chatId);
    await user.press(buttons(question).find((b) => b.text === "2")!.data, question.message_id);
    await nextSaying(p.chatId, seen, /./);
    seen = count(p.chatId);
    await user.text(p.npsComment);
    await nextSaying(p.chatId, seen, /./);
    await slack.parts.desk.pollOnce();
    return customer.id;
  }

  for (const person of PEOPLE)
    it(`finds none of the ${person.locale} customer's values in any table after /forget`, async () => {
      const customerId = await customerWithHistory(person);
      const values = personalValues(person);
      // Everything really was there before (the scan would see it).
      const before = findings(await everyRow(db), values);
      for (const table of [
        "customers",
        "purchases",
        "refunds",
        "tickets",
        "ticket_messages",
        "feedback",
        "staff_events",
        "audit_log",
        "link_tokens",
        "assistant_questions",
      ])
        expect(
          before.some((f) => f.includes(` in ${table}: `)),
          table,
        ).toBe(true);
      const tickets = await db.prisma.ticket.findMany({ where: { customerId } });
      expect(tickets.length).toBeGreaterThan(0);
      expect(tickets.every((t) => t.slackTs !== null)).toBe(true);
      const slackPosts = JSON.stringify(slack.slack.calls);
      expect(slackPosts).toContain(person.followUp);

      // /forget, confirmed.
      const user = emulatorUser(server, TEST_TOKEN, person.chatId, { locale: person.locale });
      advance(1);
      let seen = count(person.chatId);
      await user.command("/forget");
      const confirm = await nextSaying(person.chatId, seen, /./);
      seen = count(person.chatId);
      await user.press(buttons(confirm)[0]!.data, confirm.message_id);
      await nextSaying(person.chatId, seen, /./);
      await until(
        async () => (await db.prisma.auditLog.count({ where: { action: "gdpr.erase" } })) >= 1,
        "the erasure recorded",
      );

      const left = findings(await everyRow(db), values);
      expect(left).toEqual([]);

      // What statistics need is still there, on a key that is not the person's.
      const anonymous = await db.prisma.customer.findMany({
        where: { erasedAt: { not: null }, purchases: { some: { amount: new Prisma.Decimal(41) } } },
        include: { purchases: true, refunds: true },
      });
      const mine = anonymous.find((c) => c.purchases.length === 2 && c.purchases.every((x) => x.category === "jazz"));
      expect(mine).toBeDefined();
      expect(mine!.refunds).toHaveLength(1);
      expect(await db.prisma.score.count({ where: { customerId: mine!.id } })).toBe(1);
      expect(await db.prisma.feedback.count({ where: { kind: "nps", score: 2, customerId: null } })).toBeGreaterThan(0);

      // Slack: the card and every thread post quoting the customer are edited, through queued
      // staff events that outlast an outage (the first round fails for the English customer).
      const stopFailing =
        person.locale === "en" ? slack.slack.fail("chat.update", "service_unavailable") : () => undefined;
      const firstRound = await slack.parts.desk.pollOnce();
      expect(firstRound.handled + firstRound.failed).toBe(tickets.length);
      if (person.locale === "en") {
        expect(firstRound.failed).toBe(tickets.length);
        stopFailing();
        advance(1); // past the first retry's backoff
        expect(await slack.parts.desk.pollOnce()).toEqual({ handled: tickets.length, failed: 0 });
      }
      expect(await db.prisma.staffEvent.count({ where: { processedAt: null } })).toBe(0);
      const cards = tickets.map((t) => ({ channel: t.slackChannel!, ts: t.slackTs! }));
      const threadPosts = await db.prisma.ticketMessage.findMany({
        where: { ticketId: { in: tickets.map((t) => t.id) }, author: "customer", slackTs: { not: null } },
      });
      // Each "Customer wrote" post in these threads was remembered.
      const quoted = slack.slack
        .callsOf("chat.postMessage")
        .filter(
          (c) => cards.some((card) => card.ts === c.body.thread_ts) && String(c.body.text).startsWith("Customer wrote"),
        );
      expect(quoted.length).toBeGreaterThan(0);
      expect(threadPosts).toHaveLength(quoted.length);
      for (const ts of [...cards.map((c) => c.ts), ...threadPosts.map((m) => m.slackTs!)]) {
        const last = slack.slack
          .callsOf("chat.update")
          .filter((c) => c.body.ts === ts)
          .at(-1);
        expect(last, `an edit of ${ts}`).toBeDefined();
        const edited = JSON.stringify(last!.body);
        expect(
          values.filter((v) => edited.toLowerCase().includes(v.toLowerCase())),
          ts,
        ).toEqual([]);
      }

      // The shop's files imported again: the person is skipped, everyone else is written.
      const options = { timeZone: "UTC", now: clock, erasure: config.erasure };
      const customers = await importFile(db, { ...options, kind: "customers", file: customersFile(files, person) });
      expect(customers).toMatchObject({ rows: 4, skippedErased: 3, rejected: 0, written: { inserted: 1 } });
      expect(customers.tooManyRejected).toBe(false);
      const orders = ordersFile(files, person);
      // Without --create-customers their orders are skipped, not rejected as unknown customers.
      const known = await importFile(db, { ...options, kind: "orders", file: orders });
      expect(known).toMatchObject({ rows: 3, skippedErased: 2, rejected: 0, written: { inserted: 1 } });
      expect(known.tooManyRejected).toBe(false);
      const created = await importFile(db, { ...options, kind: "orders", file: orders, createCustomers: true });
      expect(created).toMatchObject({ skippedErased: 2, rejected: 0, customersCreated: 0 });
      // The live feed skips them too, and says so.
      const post = async (route: string, body: unknown) => {
        const response = await fetch(feedUrl + route, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer k-erasure" },
          body: JSON.stringify(body),
        });
        expect(response.status).toBe(200);
        return (await response.json()) as Record<string, unknown>;
      };
      expect(
        await post("/v1/customers", [
          { customer_id: person.externalId, name: person.name, email: person.email, phone: person.rawPhone },
        ]),
      ).toMatchObject({ received: 1, skippedErased: 1, rejected: [], written: { inserted: 0 } });
      expect(
        await post(
          "/v1/orders",
          person.orderIds.map((id) => ({
            order_id: id,
            customer_id: person.externalId,
            date: "2026-06-01",
            amount: 40,
          })),
        ),
      ).toMatchObject({ received: 2, skippedErased: 2, rejected: [], written: { inserted: 0 } });
      expect(
        await db.prisma.customer.count({
          where: { externalId: { in: [person.externalId, `NEW-1-${person.locale}`, `NEW-2-${person.locale}`] } },
        }),
      ).toBe(0);
      expect(await db.prisma.customer.count({ where: { externalId: `OTHER-${person.locale}` } })).toBe(1);
      expect(findings(await everyRow(db), values)).toEqual([]);
    });
});
