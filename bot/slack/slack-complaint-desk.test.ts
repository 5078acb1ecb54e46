// The complaint round trip: a customer complains to the real Telegram bot on the emulator, the
// ticket is posted to Slack, staff answer in the thread, the answer reaches the customer's chat,
// Resolve asks for CSAT, and the Slack post follows every step.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/helpers/wait";
import type { Database } from "../../core/db/client";
import { createTestDatabase } from "../../test/helpers/db";
import { openTicket } from "../../core/tickets/tickets";
import { buttons, emulatorUser, startEmulator, waitForMessages } from "../telegram/test-harness";
import { makeCustomer, runTestBot, TEST_TOKEN, type RunningTestBot } from "../telegram/test-fixtures";
import { buttonPress, STAFF_USER, startSlackHarness, TICKETS_CHANNEL, type SlackHarness } from "./testing/harness";

let clock = new Date("2026-11-20T12:00:00Z");
const now = () => clock;
const advance = (minutes: number) => {
  clock = new Date(clock.getTime() + minutes * 60_000);
};

describe("complaint desk: Telegram -> Slack thread -> Telegram [pglite]", () => {
  let db: Database;
  let server: TelegramServer;
  let bot: RunningTestBot;
  let h: SlackHarness;
  let evt = 0;

  const threadMessage = (threadTs: string, text: string, user = STAFF_USER) =>
    h.event({
      type: "message",
      channel: TICKETS_CHANNEL,
      channel_type: "channel",
      user,
      text,
      ts: `${1_800_000_000 + ++evt}.000100`,
      thread_ts: threadTs,
      event_ts: `${1_800_000_000 + evt}.000100`,
    });
  const lastUpdate = () => JSON.stringify(h.slack.callsOf("chat.update").at(-1)?.body.blocks ?? []);

  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    server = await startEmulator();
    bot = await runTestBot(db, server, { now });
    h = await startSlackHarness({ db, now, telegramChannel: bot.channel });
  });
  afterAll(async () => {
    await h?.close();
    await bot?.stop();
    await server?.stop();
    await db?.close();
  });

  it("runs the whole round trip", async () => {
    const user = emulatorUser(server, TEST_TOKEN, 9100);
    const customer = await makeCustomer(db, { externalId: "CX-77", name: "Anna Petrova", chatId: BigInt(user.chatId) });

    // 1. The customer complains on Telegram.
    await user.command("/complaint");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    await user.text("My order 5521 never arrived");
    const ack = (await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!;
    const reference = /T-\d+/.exec(ack.text)![0];
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });

    // 2. The desk posts it to the tickets channel with the customer card and buttons.
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    const post = h.slack.callsOf("chat.postMessage").find((c) => String(c.body.text).includes(reference))!;
    expect(post.body.channel).toBe(TICKETS_CHANNEL);
    const card = JSON.stringify(post.body.blocks);
    expect(card).toContain("My order 5521 never arrived");
    expect(card).toContain("Anna Petrova · CX-77");
    expect(card).toContain('"action_id":"ticket_reply"');
    expect(card).toContain('"action_id":"ticket_resolve"');
    expect(card).toContain('"action_id":"ticket_assign"');
    const stored = await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } });
    expect(stored.slackChannel).toBe(TICKETS_CHANNEL);
    const threadTs = stored.slackTs!;
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 0, failed: 0 }); // posted once

    // 3. Assign to me.
    await h.interaction(buttonPress("ticket_assign", String(ticket.id), { messageTs: threadTs }));
    await until(() => lastUpdate().includes(`<@${STAFF_USER}>`), "card shows the assignee");

    // 4. An internal note stays in Slack.
    advance(5);
    await threadMessage(threadTs, "note: courier lost it, refund approved");
    await until(
      async () => (await db.prisma.ticketMessage.count({ where: { ticketId: ticket.id, internal: true } })) === 1,
      "note stored",
    );
    await h.slack.waitFor("reactions.add", 1);

    // 5. A reply in the thread reaches the customer on Telegram.
    advance(10);
    await threadMessage(threadTs, "Sorry! A new copy ships today &amp; tracking follows.");
    const delivered = (await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!;
    // Sent as Telegram HTML (the emulator keeps the text as sent; Telegram shows "&").
    expect(delivered.text).toContain("A new copy ships today &amp; tracking follows.");
    expect(delivered.text).not.toContain("refund approved");
    await until(() => lastUpdate().includes("15 min"), "card shows time to first response");

    // 6. Someone outside the staff cannot answer the customer from the thread.
    await threadMessage(threadTs, "I am not staff, but hello", "UOUTSIDER");
    await h.slack.waitFor("chat.postEphemeral", 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.storage.botMessages.filter((m) => JSON.stringify(m.message).includes("not staff"))).toHaveLength(0);

    // A question to the app inside the thread is not a reply to the customer.
    const sentBefore = server.storage.botMessages.length;
    await threadMessage(threadTs, "<@UBOT> what is this customer's CLV?");
    await h.slack.waitFor("chat.postMessage", h.slack.callsOf("chat.postMessage").length); // settle
    await new Promise((r) => setTimeout(r, 300));
    expect(server.storage.botMessages.length).toBe(sentBefore);
    expect(await db.prisma.ticketMessage.count({ where: { ticketId: ticket.id, text: { contains: "CLV" } } })).toBe(0);

    // 7. The customer writes again: it appears in the thread.
    await user.text("Thanks, and the invoice too please");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 4);
    await h.parts.desk.pollOnce();
    expect(
      h.slack
        .callsOf("chat.postMessage")
        .some((c) => c.body.thread_ts === threadTs && String(c.body.text).includes("the invoice too please")),
    ).toBe(true);

    // 8. Resolve: the customer is asked for CSAT and the card shows the status.
    advance(30);
    await h.interaction(buttonPress("ticket_resolve", String(ticket.id), { messageTs: threadTs }));
    const csat = (await waitForMessages(server, TEST_TOKEN, user.chatId, 5))[4]!;
    expect(csat.text).toContain(reference);
    expect(buttons(csat).map((b) => b.text)).toEqual(expect.arrayContaining(["1", "5"]));
    await until(() => lastUpdate().includes("resolved"), "card shows resolved");
    expect(lastUpdate()).not.toContain("ticket_resolve"); // buttons gone
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).status).toBe("resolved");

    // 9. The rating comes back to the card.
    await user.press(buttons(csat).find((b) => b.text === "5")!.data, csat.message_id);
    await waitForMessages(server, TEST_TOKEN, user.chatId, 6);
    await h.parts.desk.pollOnce();
    expect(lastUpdate()).toContain("CSAT: 5/5");
    expect(customer.id).toBe(stored.customerId);
  });

  it("posts a detractor's NPS answer as a ticket with the score on the card", async () => {
    const user = emulatorUser(server, TEST_TOKEN, 9300);
    const c = await makeCustomer(db, { externalId: "CX-99", name: "Boris Detractor", chatId: BigInt(user.chatId) });
    const nps = await db.prisma.feedback.create({
      data: { customerId: c.id, kind: "nps", score: 2, createdAt: clock },
    });
    const opened = await openTicket(db, {
      customerId: c.id,
      source: "nps_detractor",
      text: "Prices went up and delivery is slow",
      now: clock,
      detractor: { score: 2, feedbackId: nps.id },
    });
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    const post = h.slack.callsOf("chat.postMessage").at(-1)!;
    const card = JSON.stringify(post.body.blocks);
    expect(card).toContain(`Detractor ${opened.reference}`);
    expect(card).toContain("Prices went up and delivery is slow");
    expect(card).toContain("· 2"); // last NPS on the card
  });

  it("opens the reply modal and sends what staff type there", async () => {
    const user = emulatorUser(server, TEST_TOKEN, 9200);
    await makeCustomer(db, { externalId: "CX-88", chatId: BigInt(user.chatId) });
    await user.command("/complaint");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    await user.text("Wrong size delivered");
    await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    await h.parts.desk.pollOnce();
    const ticket = await db.prisma.ticket.findFirstOrThrow({ where: { customer: { externalId: "CX-88" } } });
    await h.interaction(buttonPress("ticket_reply", String(ticket.id)));
    const open = (await h.slack.waitFor("views.open", 1)).at(-1)!;
    const view = open.body.view as { callback_id: string; private_metadata: string };
    expect(view).toMatchObject({ callback_id: "ticket_reply_modal", private_metadata: String(ticket.id) });
    await h.interaction({
      type: "view_submission",
      team: { id: "T0001" },
      user: { id: STAFF_USER, team_id: "T0001" },
      api_app_id: "A0001",
      token: "legacy",
      trigger_id: "t.1",
      view: {
        id: "V1",
        type: "modal",
        callback_id: "ticket_reply_modal",
        private_metadata: String(ticket.id),
        state: {
          values: {
            reply: { text: { type: "plain_text_input", value: "We are sending the right size now." } },
            internal: { note: { type: "checkboxes", selected_options: [] } },
          },
        },
      },
    });
    const delivered = (await waitForMessages(server, TEST_TOKEN, user.chatId, 3))[2]!;
    expect(delivered.text).toContain("We are sending the right size now.");
  });
});
