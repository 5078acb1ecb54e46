// Nothing lost, nothing pretended: a tickets channel the app cannot post to raises one alert,
// backs off instead of looping, shows in `/retention status`, and everything waiting is posted
// once the channel works again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../core/db/client";
import { staffDeskStatus } from "../../core/staff/desk-status";
import { makeCustomer } from "../../core/staff/test-fixtures";
import { addCustomerMessage, openTicket } from "../../core/tickets/tickets";
import { createTestDatabase } from "../../test/helpers/db";
import { until } from "../../test/helpers/wait";
import { STAFF_ONLY_TEXT } from "./staff-guard";
import { loadConfig } from "../../core/config/config";
import { silentLogger } from "../../core/log";
import { buildRuntime, type Runtime } from "../../jobs/runtime";
import { startBotApiStandIn, type BotApiStandIn } from "../telegram/testing/bot-api-stand-in";
import { postSigned } from "./testing/slack-stand-in";
import {
  buttonPress,
  SIGNING_SECRET,
  STAFF_CHANNEL,
  STAFF_USER,
  startSlackHarness,
  TICKETS_CHANNEL,
  type SlackHarness,
} from "./testing/harness";

let clock = new Date("2026-11-20T12:00:00Z");
const now = () => clock;
const advance = (ms: number) => {
  clock = new Date(clock.getTime() + ms);
};

describe("staff desk when Slack refuses the tickets channel [pglite]", () => {
  let db: Database;
  let h: SlackHarness;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    h = await startSlackHarness({ db, now });
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  const ticketPosts = () =>
    h.slack.callsOf("chat.postMessage").filter((c) => c.body.channel === TICKETS_CHANNEL && !c.body.thread_ts);
  const alerts = () =>
    h.slack.callsOf("chat.postMessage").filter((c) => String(c.body.text).includes("New tickets cannot be posted"));

  it("alerts once, backs off, reports the state, and posts everything once the channel works", async () => {
    const customer = await makeCustomer(db, { externalId: "CX-1", name: "Ida Storm" });
    const restore = h.slack.fail("chat.postMessage", "not_in_channel", (b) => b.channel === TICKETS_CHANNEL);
    for (const text of ["Parcel never came", "Still waiting", "Third try"])
      await openTicket(db, { customerId: customer.id, source: "complaint", text, now: clock });

    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 0, failed: 3 });
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.body.channel).toBe(STAFF_CHANNEL);
    expect(String(alerts()[0]!.body.text)).toContain("not a member");

    // Polls during the backoff touch nothing: no new attempt, no second alert.
    const attempts = ticketPosts().length;
    for (let i = 0; i < 4; i++) {
      advance(1_000); // the first retry waits 5 s
      expect(await h.parts.desk.pollOnce()).toEqual({ handled: 0, failed: 0 });
    }
    expect(ticketPosts()).toHaveLength(attempts);

    // After the backoff it tries again, still blocked: still one alert.
    advance(10_000);
    expect((await h.parts.desk.pollOnce()).failed).toBeGreaterThan(0);
    expect(alerts()).toHaveLength(1);

    const status = await staffDeskStatus(db);
    expect(status).toMatchObject({ ok: false, pending: 3, failing: 3, lastError: "not_in_channel" });
    expect(status.problems.map((p) => [p.reason, p.alertedTo])).toEqual([["not_in_channel", STAFF_CHANNEL]]);
    const reply = await h.command("status", { user: STAFF_USER });
    expect(JSON.stringify(reply.reply)).toContain("not_in_channel");
    expect(JSON.stringify(reply.reply)).toContain("3 staff alert(s) waiting");

    // Someone invites the app: every waiting ticket is posted once, and staff hear it is over.
    restore();
    advance(60_000);
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 3, failed: 0 });
    const posted = ticketPosts().filter((c) => c.body.blocks);
    expect(new Set(posted.slice(-3).map((c) => String(c.body.text).match(/T-\d+/)?.[0])).size).toBe(3);
    expect(h.slack.callsOf("chat.postMessage").some((c) => String(c.body.text).includes("reach"))).toBe(true);
    expect(await staffDeskStatus(db)).toMatchObject({ ok: true, pending: 0, problems: [] });
  });

  it("shows a complaint's <!channel> and disguised links on the card as harmless text", async () => {
    const customer = await makeCustomer(db, { externalId: "CX-3", name: "Eve <!here>" });
    const { reference } = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "<!channel> <@U1> URGENT: log in at <https://evil.example/login|shop.test> & www.evil.example",
      now: clock,
    });
    advance(60_000);
    await h.parts.desk.pollOnce();
    const card = ticketPosts().find((c) => String(c.body.text).includes(reference))!;
    const shown = JSON.stringify(card.body);
    for (const dangerous of ["<!channel>", "<!here>", "<@U1>", "<https://evil", "evil.example"])
      expect(shown).not.toContain(dangerous);
    expect(shown).toContain("&lt;!channel&gt;");
    expect(shown).toContain("evil[.]example");
  });

  it("keeps the whole customer text one click from the card, and posts follow-ups uncut", async () => {
    const customer = await makeCustomer(db, { externalId: "CX-5" });
    const long = Array.from({ length: 120 }, (_, i) => `sentence ${i} about the broken kettle.`).join(" ");
    expect(long.length).toBeGreaterThan(1200);
    const { id, reference } = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: long,
      now: clock,
    });
    await h.parts.desk.pollOnce();
    const card = ticketPosts().find((c) => String(c.body.text).includes(reference))!.body;
    const shown = JSON.stringify(card.blocks);
    expect(shown).not.toContain("sentence 119");
    expect(shown).toContain('"action_id":"ticket_full_text"');
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id } })).slackTs!;
    const opened = h.slack.callsOf("views.open").length;
    await h.interaction(buttonPress("ticket_full_text", String(id), { messageTs: threadTs }));
    const modal = (await h.slack.waitFor("views.open", opened + 1))[opened]!.body.view as { blocks: unknown[] };
    expect(JSON.stringify(modal.blocks)).toContain("sentence 119 about the broken kettle.");

    const followUp = "And another thing: ".padEnd(900, "x") + " the end";
    await addCustomerMessage(db, { ticketId: id, customerId: customer.id, text: followUp, now: clock });
    await h.parts.desk.pollOnce();
    const inThread = h.slack.callsOf("chat.postMessage").find((c) => c.body.thread_ts === threadTs)!;
    expect(String(inThread.body.text)).toContain("x the end");
  });

  it("refuses a reply longer than Telegram allows before sending, naming the limit; the ticket stays unanswered", async () => {
    const customer = await makeCustomer(db, { externalId: "CX-4" });
    const { id, reference } = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "Where is it?",
      now: clock,
    });
    advance(60_000);
    await h.parts.desk.pollOnce();
    const card = ticketPosts().find((c) => String(c.body.text).includes(reference))!;
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id } })).slackTs!;
    expect(threadTs).toBeTruthy();
    expect(card).toBeDefined();
    const before = h.slack.callsOf("chat.postMessage").length;
    await h.event({
      type: "message",
      channel: TICKETS_CHANNEL,
      channel_type: "channel",
      user: STAFF_USER,
      text: "x".repeat(5000),
      ts: "1800000001.000100",
      thread_ts: threadTs,
      event_ts: "1800000001.000100",
    });
    const answer = (await h.slack.waitFor("chat.postMessage", before + 1))[before]!.body;
    expect(answer.thread_ts).toBe(threadTs);
    expect(String(answer.text)).toContain("5,000 characters");
    expect(String(answer.text)).toContain("at most 4,096");
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id } });
    expect(ticket.firstResponseAt).toBeNull();
    expect(await db.prisma.ticketMessage.count({ where: { ticketId: id, author: "staff" } })).toBe(0);
    expect(await db.prisma.outboxMessage.count({ where: { idempotencyKey: { startsWith: `ticket:${id}:` } } })).toBe(0);
  });

  it("refuses a request stamped more than 5 minutes in the future, accepts a small clock skew", async () => {
    const body = new URLSearchParams({
      command: "/retention",
      text: "help",
      user_id: STAFF_USER,
      channel_id: "DDM1",
      response_url: h.slack.responseUrl("future"),
    }).toString();
    const at = (offsetS: number) =>
      postSigned(h.url, SIGNING_SECRET, body, {
        contentType: "application/x-www-form-urlencoded",
        timestamp: Math.floor(Date.now() / 1000) + offsetS,
      });
    const before = h.slack.callsOf("response_url").length;
    expect((await at(10 * 60)).status).toBe(401);
    expect((await at(60)).status).toBe(200);
    // Only the accepted one is answered.
    const answers = (await h.slack.waitFor("response_url", before + 1)).slice(before);
    expect(answers).toHaveLength(1);
  });

  it("treats members of the staff channel as staff in a direct message too", async () => {
    h.slack.channelMembers = ["UMEMBER"];
    const member = await h.command("help", { user: "UMEMBER", channel: "DMEMBER" });
    expect(JSON.stringify(member.reply)).not.toContain(STAFF_ONLY_TEXT);
    expect(JSON.stringify(member.reply)).toContain("/retention");
    const outsider = await h.command("help", { user: "UOUTSIDER", channel: "DOUT" });
    expect(outsider.reply.text).toBe(STAFF_ONLY_TEXT);
  });

  it("with no staff channel, a revoked token alerts the configured admins directly", async () => {
    const h2 = await startSlackHarness({ db, now, env: { SLACK_STAFF_CHANNEL: "", SLACK_STAFF_USERS: "UADMIN1" } });
    try {
      const customer = await makeCustomer(db, { externalId: "CX-2" });
      h2.slack.fail("chat.postMessage", "token_revoked", (b) => b.channel === TICKETS_CHANNEL);
      await openTicket(db, { customerId: customer.id, source: "complaint", text: "Refund please", now: clock });
      expect(await h2.parts.desk.pollOnce()).toEqual({ handled: 0, failed: 1 });
      const sent = h2.slack.callsOf("chat.postMessage").filter((c) => String(c.body.text).includes("cannot be posted"));
      expect(sent.map((c) => c.body.channel)).toEqual(["UADMIN1"]);
      expect(String(sent[0]!.body.text)).toContain("SLACK_BOT_TOKEN");
    } finally {
      await h2.close();
    }
  });
});

describe("a first reply Telegram refuses [pglite]", () => {
  let db: Database;
  let h: SlackHarness;
  let telegram: BotApiStandIn;
  let runtime: Runtime;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    telegram = await startBotApiStandIn();
    const config = loadConfig({
      TELEGRAM_BOT_TOKEN: "4242:desk-retry",
      TELEGRAM_API_ROOT: telegram.apiRoot,
      LOG_LEVEL: "silent",
    });
    runtime = await buildRuntime(config, silentLogger);
    h = await startSlackHarness({ db, now, telegramChannel: runtime.channel(db) });
  });
  afterAll(async () => {
    await h?.close();
    await runtime?.stop();
    await telegram?.close();
    await db?.close();
  });

  it("leaves the ticket unanswered with the reason and a Retry button; Retry delivers it once", async () => {
    const customer = await makeCustomer(db, { externalId: "CX-9", telegramChatId: 9_009n });
    const { id, reference } = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "Wrong size delivered",
      now: clock,
    });
    await h.parts.desk.pollOnce();
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id } })).slackTs!;
    expect(threadTs).toBeTruthy();
    telegram.refuse = (chatId, earlier) =>
      chatId === 9009 && earlier === 0 ? "Bad Request: chat is frozen" : undefined;

    const before = h.slack.callsOf("chat.postMessage").length;
    advance(60_000);
    await h.event({
      type: "message",
      channel: TICKETS_CHANNEL,
      channel_type: "channel",
      user: STAFF_USER,
      text: "We will send the right size today.",
      ts: "1800000101.000100",
      thread_ts: threadTs,
      event_ts: "1800000101.000100",
    });
    const warning = (await h.slack.waitFor("chat.postMessage", before + 1))[before]!.body;
    expect(warning.thread_ts).toBe(threadTs);
    expect(String(warning.text)).toContain("not delivered");
    expect(String(warning.text)).toContain("chat is frozen");
    const retry = JSON.stringify(warning.blocks);
    expect(retry).toContain('"action_id":"ticket_retry_reply"');
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id } })).firstResponseAt).toBeNull();
    expect(telegram.delivered()).toHaveLength(0);

    // Retry: the same message, delivered once; the ticket now counts as answered.
    const value = /"value":"(\d+:\d+)"/.exec(retry)![1]!;
    const onWarning = () => h.slack.callsOf("chat.update").filter((u) => u.body.ts === "1800000102.000100");
    await h.interaction(buttonPress("ticket_retry_reply", value, { messageTs: "1800000102.000100" }));
    await until(() => onWarning().length === 1, "the warning shows the retry's outcome");
    expect(String(onWarning()[0]!.body.text)).toContain("Delivered on retry");
    expect(telegram.delivered().map((s) => [s.chatId, s.text])).toEqual([
      [9009, expect.stringContaining("We will send the right size today.")],
    ]);
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id } });
    expect(ticket.firstResponseAt).not.toBeNull();
    expect(reference).toMatch(/^T-/);

    // A second press finds nothing to send: still one message on Telegram.
    await h.interaction(buttonPress("ticket_retry_reply", value, { messageTs: "1800000102.000100" }));
    await until(() => onWarning().length === 2, "the second press is answered");
    expect(String(onWarning()[1]!.body.text)).toBe("This reply is already delivered.");
    expect(telegram.delivered()).toHaveLength(1);
  });

  it("turns a thread reply's link, mention and formatting into Telegram HTML, and its file into a document", async () => {
    const customer = await makeCustomer(db, { externalId: "CX-10", telegramChatId: 9_010n });
    const { id } = await openTicket(db, { customerId: customer.id, source: "complaint", text: "Invoice?", now: clock });
    await h.parts.desk.pollOnce();
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id } })).slackTs!;
    await h.event({
      type: "message",
      subtype: "file_share",
      channel: TICKETS_CHANNEL,
      channel_type: "channel",
      user: STAFF_USER,
      text: "*Done*: see <https://shop.test/track?id=1&amp;x=2|your tracking>, write to <mailto:help@shop.test|help@shop.test>, <@U777> will call &amp; _soon_ &lt;3",
      ts: "1800000201.000100",
      thread_ts: threadTs,
      event_ts: "1800000201.000100",
      files: [{ id: "F1", name: "invoice.pdf", url_private_download: h.slack.fileUrl("invoice.pdf"), size: 24 }],
    });
    await until(() => telegram.delivered().filter((s) => s.chatId === 9010).length === 2, "the reply and the file");
    const [reply, file] = telegram.delivered().filter((s) => s.chatId === 9010);
    expect(reply!.parseMode).toBe("HTML");
    expect(reply!.text).toContain("<b>Done</b>:");
    expect(reply!.text).toContain('<a href="https://shop.test/track?id=1&amp;x=2">your tracking</a>');
    expect(reply!.text).toContain("write to help@shop.test,");
    expect(reply!.text).toContain("Staffer U777 will call &amp; <i>soon</i> &lt;3");
    expect(file!.document).toEqual({ fileName: "invoice.pdf", content: "contents of invoice.pdf" });
    // The file was fetched with the bot token, as Slack requires.
    expect(h.slack.callsOf("file_download").at(-1)!.body.auth).toMatch(/^Bearer xoxb-/);
    const stored = await db.prisma.ticketMessage.findMany({
      where: { ticketId: id, author: "staff" },
      orderBy: { id: "asc" },
    });
    expect(stored.map((m) => m.text)).toEqual([
      "*Done*: see your tracking (https://shop.test/track?id=1&x=2), write to help@shop.test, Staffer U777 will call & _soon_ <3",
      "[file: invoice.pdf]",
    ]);
  });
});
