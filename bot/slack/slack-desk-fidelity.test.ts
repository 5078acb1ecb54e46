// Two-way fidelity of the ticket thread, through signed Slack requests and the Bot API stand-in:
// an edited reply edits the customer's Telegram message (or, not delivered yet, changes what will
// be sent), a file put into an edited reply reaches the customer once, and media a customer sent
// show in the thread as files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { makeCustomer } from "../../core/staff/test-fixtures";
import { eraseCustomer } from "../../core/consent/consent";
import { addCustomerMessage, openTicket } from "../../core/tickets/tickets";
import { buildRuntime, type Runtime } from "../../jobs/runtime";
import { createTestDatabase } from "../../test/helpers/db";
import { until } from "../../test/helpers/wait";
import { startBotApiStandIn, type BotApiStandIn } from "../telegram/testing/bot-api-stand-in";
import { ERASED_MESSAGE_TEXT } from "./ticket-desk";
import { buttonPress, STAFF_USER, startSlackHarness, TICKETS_CHANNEL, type SlackHarness } from "./testing/harness";

const clock = new Date("2026-11-20T12:00:00Z");
const now = () => clock;

describe("ticket thread fidelity [pglite]", () => {
  let db: Database;
  let h: SlackHarness;
  let telegram: BotApiStandIn;
  let runtime: Runtime;
  let seq = 0;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    telegram = await startBotApiStandIn();
    const config = loadConfig({
      TELEGRAM_BOT_TOKEN: "4242:desk-fidelity",
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

  /** A ticket of a customer with chat `chatId`, posted to Slack; its thread ts. */
  async function postedTicket(chatId: bigint, text = "Where is my order?") {
    const customer = await makeCustomer(db, { externalId: `CX-${chatId}`, telegramChatId: chatId });
    const ticket = await openTicket(db, { customerId: customer.id, source: "complaint", text, now: clock });
    await h.parts.desk.pollOnce();
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).slackTs!;
    expect(threadTs).toBeTruthy();
    return { customer, ticket, threadTs };
  }
  const reply = (threadTs: string, text: string) => {
    const ts = `${1_800_000_000 + ++seq}.000100`;
    return h
      .event({
        type: "message",
        channel: TICKETS_CHANNEL,
        channel_type: "channel",
        user: STAFF_USER,
        text,
        ts,
        thread_ts: threadTs,
        event_ts: ts,
      })
      .then(() => ts);
  };
  /** Staff edit the message `ts`; Slack's edit stamp is `editedTs` (a fresh one by default). */
  const edit = async (threadTs: string, ts: string, text: string, editedTs = `${1_800_100_000 + ++seq}.000000`) => {
    await h.event(
      {
        type: "message",
        subtype: "message_changed",
        hidden: true,
        channel: TICKETS_CHANNEL,
        channel_type: "channel",
        ts: editedTs,
        event_ts: editedTs,
        message: {
          type: "message",
          user: STAFF_USER,
          text,
          ts,
          thread_ts: threadTs,
          edited: { user: STAFF_USER, ts: editedTs },
        },
        previous_message: { type: "message", user: STAFF_USER, text: "(before)", ts, thread_ts: threadTs },
      },
      `EvEdit${++seq}`,
    );
    return editedTs;
  };
  const pencils = (ts: string) =>
    h.slack.callsOf("reactions.add").filter((c) => c.body.timestamp === ts && c.body.name === "pencil2");

  it("edits the delivered Telegram message when staff edit their reply, once per edit", async () => {
    const { ticket, threadTs } = await postedTicket(9_101n);
    const ts = await reply(threadTs, "Your parcel ships *today*.");
    await until(() => telegram.delivered().some((s) => s.chatId === 9101), "the reply is delivered");
    const sent = telegram.delivered().find((s) => s.chatId === 9101)!;
    expect(sent.text).toContain("<b>today</b>");

    const text = "Your parcel ships *tomorrow* morning, see <https://shop.test/t|tracking>.";
    const editedTs = await edit(threadTs, ts, text);
    await until(() => telegram.edits.length === 1, "the Telegram message is edited");
    expect(telegram.edits[0]).toMatchObject({ chatId: 9101, messageId: sent.messageId, parseMode: "HTML" });
    expect(telegram.edits[0]!.text).toContain(
      'Your parcel ships <b>tomorrow</b> morning, see <a href="https://shop.test/t">tracking</a>.',
    );
    expect(telegram.edits[0]!.text).toContain(ticket.reference);
    await until(() => pencils(ts).length === 1, "the edit is acknowledged with a pencil");
    const stored = await db.prisma.ticketMessage.findFirstOrThrow({ where: { ticketId: ticket.id, slackTs: ts } });
    expect(stored.text).toBe("Your parcel ships *tomorrow* morning, see tracking (https://shop.test/t).");
    // Still one message in the chat: the edit sent nothing new.
    expect(telegram.delivered().filter((s) => s.chatId === 9101)).toHaveLength(1);

    // Slack delivering the same edit again (under another event id) edits nothing twice.
    await edit(threadTs, ts, text, editedTs);
    await until(() => pencils(ts).length === 2, "the redelivery is handled");
    expect(telegram.edits).toHaveLength(1);

    // A second, different edit edits the same Telegram message again.
    await edit(threadTs, ts, "Ships tomorrow at 9.");
    await until(() => telegram.edits.length === 2, "the second edit");
    expect(telegram.edits[1]).toMatchObject({ chatId: 9101, messageId: sent.messageId });
    expect(telegram.edits[1]!.text).toContain("Ships tomorrow at 9.");
  });

  it("an edit of a reply not delivered yet changes what Retry sends", async () => {
    const { ticket, threadTs } = await postedTicket(9_102n);
    telegram.refuse = (chatId, earlier) =>
      chatId === 9102 && earlier === 0 ? "Bad Request: chat is frozen" : undefined;
    const before = h.slack.callsOf("chat.postMessage").length;
    const ts = await reply(threadTs, "We will refund 10 EUR.");
    const warning = (await h.slack.waitFor("chat.postMessage", before + 1))[before]!.body;
    expect(String(warning.text)).toContain("not delivered");
    const value = /"value":"(\d+:\d+)"/.exec(JSON.stringify(warning.blocks))![1]!;

    await edit(threadTs, ts, "We will refund *15 EUR*.");
    await until(() => pencils(ts).length === 1, "the edit is applied to the waiting reply");
    expect(telegram.edits.filter((e) => e.chatId === 9102)).toHaveLength(0);

    await h.interaction(buttonPress("ticket_retry_reply", value, { messageTs: "1800009999.000100" }));
    await until(() => telegram.delivered().some((s) => s.chatId === 9102), "Retry delivers");
    const delivered = telegram.delivered().filter((s) => s.chatId === 9102);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.text).toContain("We will refund <b>15 EUR</b>.");
    expect(delivered[0]!.text).not.toContain("10 EUR");
    const stored = await db.prisma.ticketMessage.findFirstOrThrow({ where: { ticketId: ticket.id, slackTs: ts } });
    expect(stored.text).toBe("We will refund *15 EUR*.");
  });

  it("says why an edit cannot reach the customer: too long", async () => {
    const { threadTs } = await postedTicket(9_103n);
    const ts = await reply(threadTs, "Short answer.");
    await until(() => telegram.delivered().some((s) => s.chatId === 9103), "the reply is delivered");
    const before = h.slack.callsOf("chat.postMessage").length;
    await edit(threadTs, ts, "y".repeat(5000));
    const answer = (await h.slack.waitFor("chat.postMessage", before + 1))[before]!.body;
    expect(answer.thread_ts).toBe(threadTs);
    expect(String(answer.text)).toContain("Edit not sent");
    expect(String(answer.text)).toContain("at most 4,096");
    expect(telegram.edits.filter((e) => e.chatId === 9103)).toHaveLength(0);
  });

  it("shows the media a customer sent in the ticket thread, caption escaped; a file that cannot come says so", async () => {
    telegram.addFile("PHOTO-1", "photos/file_1.jpg", "jpeg bytes of the broken kettle");
    telegram.addFile("PHOTO-2", "photos/file_2.jpg", "jpeg bytes of the box");
    const customer = await makeCustomer(db, { externalId: "CX-MEDIA", telegramChatId: 9_104n });
    const ticket = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "Broken on arrival",
      attachments: [{ kind: "photo", fileId: "PHOTO-1" }],
      now: clock,
    });
    await h.parts.desk.pollOnce();
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).slackTs!;
    const completes = () =>
      h.slack.callsOf("files.completeUploadExternal").filter((c) => c.body.thread_ts === threadTs);
    expect(completes()).toHaveLength(1);
    expect(completes()[0]!.body.channel_id).toBe(TICKETS_CHANNEL);
    expect(h.slack.uploads.map((u) => u.content.toString())).toContain("jpeg bytes of the broken kettle");
    expect(telegram.fileCalls).toEqual(expect.arrayContaining(["PHOTO-1", "photos/file_1.jpg"]));

    // A follow-up with a caption that tries to ping everyone, a photo and a voice note Telegram
    // no longer has: the photo is uploaded, the caption is harmless, the voice note is named.
    await addCustomerMessage(db, {
      ticketId: ticket.id,
      customerId: customer.id,
      text: "And the box <!here> see www.evil.example",
      attachments: [
        { kind: "photo", fileId: "PHOTO-2" },
        { kind: "voice", fileId: "VOICE-GONE" },
      ],
      now: clock,
    });
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    expect(completes()).toHaveLength(2);
    // The words are a message of their own (its ts kept for an erasure); the file comes without them.
    expect(completes()[1]!.body.initial_comment).toBeUndefined();
    const words = h.slack
      .callsOf("chat.postMessage")
      .filter((c) => c.body.thread_ts === threadTs)
      .at(-1)!;
    const comment = String(words.body.text);
    expect(comment).toContain("And the box &lt;!here&gt; see www[.]evil[.]example");
    expect(comment).not.toContain("<!here>");
    expect(comment).toContain("(voice message could not be attached)");
    expect(h.slack.uploads.map((u) => u.content.toString())).toContain("jpeg bytes of the box");

    // Slack refuses the upload: the words still reach the thread, with the note.
    const restore = h.slack.fail("files.getUploadURLExternal", "internal_error");
    try {
      await addCustomerMessage(db, {
        ticketId: ticket.id,
        customerId: customer.id,
        text: "",
        attachments: [{ kind: "photo", fileId: "PHOTO-1" }],
        now: clock,
      });
      expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    } finally {
      restore();
    }
    const [sent, note] = h.slack
      .callsOf("chat.postMessage")
      .filter((c) => c.body.thread_ts === threadTs)
      .slice(-2);
    expect(String(sent!.body.text)).toContain("Customer sent:");
    expect(String(note!.body.text)).toContain("(photo could not be attached)");
    expect(completes()).toHaveLength(2);
  });

  it("an edit that replaces a reply's file sends the new file once and says the old one cannot be taken back", async () => {
    const { ticket, threadTs } = await postedTicket(9_105n);
    const file = (id: string, name: string) => ({
      id,
      name,
      url_private_download: h.slack.fileUrl(name),
      size: 30,
    });
    const ts = `${1_800_000_000 + ++seq}.000100`;
    const original = {
      type: "message",
      user: STAFF_USER,
      text: "Here is the invoice.",
      ts,
      thread_ts: threadTs,
      files: [file("FOLD", "invoice-v1.pdf")],
    };
    await h.event({
      ...original,
      subtype: "file_share",
      channel: TICKETS_CHANNEL,
      channel_type: "channel",
      event_ts: ts,
    });
    const toCustomer = () => telegram.delivered().filter((s) => s.chatId === 9105);
    await until(() => toCustomer().length === 2, "the reply and its file");
    expect(toCustomer()[1]!.document).toEqual({ fileName: "invoice-v1.pdf", content: "contents of invoice-v1.pdf" });

    /** Slack's message_changed for the message `ts`, now with `text` and `files`. */
    const change = (text: string, files: ReturnType<typeof file>[], before: typeof original, eventId: string) => {
      const editedTs = `${1_800_200_000 + ++seq}.000000`;
      return h.event(
        {
          type: "message",
          subtype: "message_changed",
          hidden: true,
          channel: TICKETS_CHANNEL,
          channel_type: "channel",
          ts: editedTs,
          event_ts: editedTs,
          message: { ...before, text, files, edited: { user: STAFF_USER, ts: editedTs } },
          previous_message: before,
        },
        eventId,
      );
    };
    const inThread = () =>
      h.slack
        .callsOf("chat.postMessage")
        .filter((c) => c.body.thread_ts === threadTs && String(c.body.text).includes("taken out"));

    // The file is replaced; the text is not touched.
    const replaced = [file("FNEW", "invoice-v2.pdf")];
    await change("Here is the invoice.", replaced, original, "EvFileSwap");
    await until(() => toCustomer().length === 3, "the new file");
    expect(toCustomer()[2]!.document).toEqual({ fileName: "invoice-v2.pdf", content: "contents of invoice-v2.pdf" });
    await until(() => inThread().length === 1, "the thread is told about the old file");
    expect(String(inThread()[0]!.body.text)).toContain("invoice-v1[.]pdf"); // escaped: never a link
    expect(String(inThread()[0]!.body.text)).toContain("cannot be replaced or taken back");
    expect(telegram.edits.filter((e) => e.chatId === 9105)).toHaveLength(0);

    // Slack redelivers the same event, then the text is edited with the new file still there:
    // the text is edited on Telegram, and no file goes twice.
    await change("Here is the invoice.", replaced, original, "EvFileSwap");
    const after = { ...original, files: replaced };
    await change("Here is the corrected invoice.", replaced, after, "EvTextAfterSwap");
    await until(() => telegram.edits.some((e) => e.chatId === 9105), "the text edit");
    expect(telegram.edits.find((e) => e.chatId === 9105)!.text).toContain("Here is the corrected invoice.");
    await until(() => pencils(ts).length === 1, "the text edit is acknowledged");
    expect(toCustomer()).toHaveLength(3);
    expect(inThread()).toHaveLength(1);
    const staff = await db.prisma.ticketMessage.findMany({
      where: { ticketId: ticket.id, author: "staff" },
      orderBy: { id: "asc" },
      select: { text: true },
    });
    expect(staff.map((m) => m.text)).toEqual([
      "Here is the corrected invoice.",
      "[file: invoice-v1.pdf]",
      "[file: invoice-v2.pdf]",
    ]);
  });

  it("a retried alert uploads a customer's file once; an erasure edits the words away and deletes the files", async () => {
    telegram.addFile("PHOTO-E1", "photos/file_e1.jpg", "jpeg bytes of a receipt");
    telegram.addFile("DOC-E2", "documents/file_e2.pdf", "pdf bytes of an invoice");
    const customer = await makeCustomer(db, { externalId: "CX-ERASE", name: "Erin Gone", telegramChatId: 9_106n });
    const ticket = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "Charged twice",
      attachments: [{ kind: "photo", fileId: "PHOTO-E1" }],
      now: clock,
    });
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).slackTs!;
    const inThread = (method: string) => h.slack.callsOf(method).filter((c) => c.body.thread_ts === threadTs);
    expect(inThread("files.completeUploadExternal")).toHaveLength(1);
    expect(inThread("chat.postMessage").filter((c) => String(c.body.text) === "The customer attached:")).toHaveLength(
      1,
    );

    // Slack fails right after the follow-up's file was shared (at the card refresh): the alert is
    // retried, and neither the words nor the file come twice.
    const message = await addCustomerMessage(db, {
      ticketId: ticket.id,
      customerId: customer.id,
      text: "Here is the bank statement, my card ends 4242",
      attachments: [{ kind: "document", fileId: "DOC-E2" }],
      now: clock,
    });
    const restore = h.slack.fail("chat.update", "internal_error");
    try {
      expect(await h.parts.desk.pollOnce()).toEqual({ handled: 0, failed: 1 });
    } finally {
      restore();
    }
    expect(inThread("files.completeUploadExternal")).toHaveLength(2);
    await db.prisma.staffEvent.updateMany({ where: { processedAt: null }, data: { nextAttemptAt: null } });
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    const wrote = inThread("chat.postMessage").filter((c) => String(c.body.text).includes("card ends 4242"));
    expect(wrote).toHaveLength(1);
    expect(inThread("files.completeUploadExternal")).toHaveLength(2);
    expect(
      h.slack.callsOf("files.getUploadURLExternal").filter((c) => String(c.body.filename) === "file_e2.pdf"),
    ).toHaveLength(1);
    const uploads = await db.prisma.slackMediaUpload.findMany({
      orderBy: { id: "asc" },
      where: { message: { ticketId: ticket.id } },
    });
    expect(uploads).toHaveLength(2);
    expect(uploads.every((u) => u.completedAt !== null)).toBe(true);
    for (const u of uploads)
      expect(h.slack.files.get(u.slackFileId)!.shares).toEqual([{ channel: TICKETS_CHANNEL, threadTs }]);
    const stored = await db.prisma.ticketMessage.findUniqueOrThrow({
      where: { id: message.ok ? message.value.messageId : -1 },
    });
    expect(stored.slackTs).toBeTruthy();

    // Erased: the words are edited away and both files deleted from Slack, once, even when repeated.
    expect((await eraseCustomer(db, customer.id, { now: clock })).ok).toBe(true);
    expect(await h.parts.desk.pollOnce()).toEqual({ handled: 1, failed: 0 });
    const edited = h.slack.callsOf("chat.update").filter((c) => c.body.ts === stored.slackTs);
    expect(edited.at(-1)!.body.text).toBe(ERASED_MESSAGE_TEXT);
    for (const u of uploads) expect(h.slack.files.get(u.slackFileId)!.deleted).toBe(true);
    expect(h.slack.callsOf("files.delete").map((c) => c.body.file)).toEqual(uploads.map((u) => u.slackFileId));
    const after = await db.prisma.slackMediaUpload.findMany({ where: { id: { in: uploads.map((u) => u.id) } } });
    expect(after.every((u) => u.deletedAt !== null)).toBe(true);
    // No upload carried the customer's words, so no text is left where an erasure cannot edit.
    expect(
      h.slack
        .callsOf("files.completeUploadExternal")
        .some((c) => String(c.body.initial_comment ?? "").includes("4242")),
    ).toBe(false);
  });
});
