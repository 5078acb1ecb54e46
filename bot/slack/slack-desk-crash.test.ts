// At-least-once staff alerts: the real `retention start` is killed with SIGKILL after it claimed
// a ticket's staff event and before it posted it (FAULT_KILL_AT). A restarted process posts the
// alert once the dead one's lease has passed, and marks the event done only after posting. Killed
// at the worst moment of a customer's file (shared into the thread, not yet recorded), the
// restarted process finds the file in the thread and does not upload it again.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Database } from "../../core/db/client";
import { makeCustomer } from "../../core/staff/test-fixtures";
import { openTicket } from "../../core/tickets/tickets";
import { exited, freePort, spawnRetention } from "../../test/helpers/campaign-fixture";
import { createTestDatabase } from "../../test/helpers/db";
import { startBotApiStandIn, type BotApiStandIn } from "../telegram/testing/bot-api-stand-in";
import { SIGNING_SECRET, TICKETS_CHANNEL } from "./testing/harness";
import { startSlackStandIn, type SlackStandIn } from "./testing/slack-stand-in";

const unavailable = inject("pgUnavailable");

describe.skipIf(!!unavailable)(`staff alert survives SIGKILL${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let db: Database;
  let slack: SlackStandIn;
  let telegram: BotApiStandIn;
  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    slack = await startSlackStandIn();
    telegram = await startBotApiStandIn();
  });
  afterAll(async () => {
    await telegram?.close();
    await slack?.close();
    await db?.close();
  });

  it("posts the alert after a process dies between claiming and posting it", async () => {
    const target = db.target;
    if (target.kind !== "postgres") throw new Error("needs PostgreSQL");
    const customer = await makeCustomer(db, { externalId: "CX-KILL", name: "Kim Lee" });
    const ticket = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "Nobody answers me",
      now: new Date(),
    });
    const env = async (extra: Record<string, string> = {}) => ({
      DATABASE_URL: target.url,
      SLACK_BOT_TOKEN: "xoxb-crash-test",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_PORT: String(await freePort()),
      SLACK_TICKETS_CHANNEL: TICKETS_CHANNEL,
      SLACK_STAFF_USERS: "USTAFF1",
      SLACK_EVENT_LEASE_SECONDS: "1",
      SCHEDULER_ENABLED: "false",
      TELEGRAM_BOT_TOKEN: "",
      OPENAI_API_KEY: "",
      LOG_LEVEL: "warn",
      ...extra,
    });
    const ticketPosts = () =>
      slack.callsOf("chat.postMessage").filter((c) => String(c.body.text).includes(ticket.reference));

    // 1. The process claims the event and dies before posting it.
    const first = spawnRetention(["start"], await env({ FAULT_KILL_AT: "staff-event-claimed" }));
    let stderr = "";
    first.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await exited(first);
    expect(first.signalCode, stderr.slice(0, 2000)).toBe("SIGKILL");
    const held = await db.prisma.staffEvent.findFirstOrThrow({
      where: { payload: { path: ["ticketId"], equals: ticket.id } },
    });
    expect(held.processedAt).toBeNull(); // claimed, not done
    expect(held.claimedUntil).not.toBeNull();
    expect(ticketPosts()).toHaveLength(0);

    // 2. A new process takes it after the lease and posts it; only then is it done.
    const second = spawnRetention(["start"], await env());
    let stderr2 = "";
    second.stderr?.on("data", (d: Buffer) => (stderr2 += d.toString()));
    try {
      const deadline = Date.now() + 120_000;
      while (
        ticketPosts().length === 0 ||
        (await db.prisma.staffEvent.findUniqueOrThrow({ where: { id: held.id } })).processedAt === null
      ) {
        if (second.exitCode !== null) throw new Error(`second process exited: ${stderr2.slice(0, 2000)}`);
        if (Date.now() > deadline) throw new Error(`alert never posted: ${stderr2.slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      second.kill("SIGTERM");
      await exited(second);
    }
    expect(ticketPosts()).toHaveLength(1);
    expect(ticketPosts()[0]!.body.channel).toBe(TICKETS_CHANNEL);
    const done = await db.prisma.staffEvent.findUniqueOrThrow({ where: { id: held.id } });
    expect(done.attempts).toBe(2);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).slackTs).not.toBeNull();
  });

  it("uploads a customer's file once when the process dies after sharing it and before recording that", async () => {
    const target = db.target;
    if (target.kind !== "postgres") throw new Error("needs PostgreSQL");
    telegram.addFile("PHOTO-KILL", "photos/file_kill.jpg", "jpeg bytes of a dented kettle");
    const customer = await makeCustomer(db, { externalId: "CX-KILL-MEDIA", telegramChatId: 9_300n });
    const ticket = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "Dented on arrival",
      attachments: [{ kind: "photo", fileId: "PHOTO-KILL" }],
      now: new Date(),
    });
    const env = async (extra: Record<string, string> = {}) => ({
      DATABASE_URL: target.url,
      SLACK_BOT_TOKEN: "xoxb-crash-test",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_PORT: String(await freePort()),
      SLACK_TICKETS_CHANNEL: TICKETS_CHANNEL,
      SLACK_STAFF_USERS: "USTAFF1",
      SLACK_EVENT_LEASE_SECONDS: "1",
      SCHEDULER_ENABLED: "false",
      TELEGRAM_BOT_TOKEN: "4242:crash-media",
      TELEGRAM_API_ROOT: telegram.apiRoot,
      OPENAI_API_KEY: "",
      LOG_LEVEL: "warn",
      ...extra,
    });
    const event = () =>
      db.prisma.staffEvent.findFirstOrThrow({ where: { payload: { path: ["ticketId"], equals: ticket.id } } });
    const uploads = () => db.prisma.slackMediaUpload.findMany({ where: { message: { ticketId: ticket.id } } });
    const shares = () => slack.callsOf("files.completeUploadExternal");

    // 1. Killed right after files.completeUploadExternal: the file is in the thread, not marked.
    const first = spawnRetention(["start"], await env({ FAULT_KILL_AT: "slack-media-shared" }));
    let stderr = "";
    first.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await exited(first);
    expect(first.signalCode, stderr.slice(0, 2000)).toBe("SIGKILL");
    expect(shares()).toHaveLength(1);
    const [started] = await uploads();
    expect(started).toMatchObject({ completedAt: null });
    expect(slack.files.get(started!.slackFileId)!.shares).toHaveLength(1);
    expect((await event()).processedAt).toBeNull();

    // 2. The restarted process asks Slack about the kept file id, marks it, uploads nothing.
    const second = spawnRetention(["start"], await env());
    let stderr2 = "";
    second.stderr?.on("data", (d: Buffer) => (stderr2 += d.toString()));
    try {
      const deadline = Date.now() + 120_000;
      while ((await event()).processedAt === null) {
        if (second.exitCode !== null) throw new Error(`second process exited: ${stderr2.slice(0, 2000)}`);
        if (Date.now() > deadline) throw new Error(`event never done: ${stderr2.slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      second.kill("SIGTERM");
      await exited(second);
    }
    expect(slack.callsOf("files.info").map((c) => c.body.file)).toEqual([started!.slackFileId]);
    expect(slack.callsOf("files.getUploadURLExternal")).toHaveLength(1);
    expect(shares()).toHaveLength(1);
    expect((await uploads())[0]!.completedAt).not.toBeNull();
    const threadTs = (await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).slackTs!;
    expect(
      slack
        .callsOf("chat.postMessage")
        .filter((c) => c.body.thread_ts === threadTs && c.body.text === "The customer attached:"),
    ).toHaveLength(1);
  });
});
