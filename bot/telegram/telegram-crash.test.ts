// At-least-once Telegram updates, handled once: the real `retention start` is killed with SIGKILL
// while it handles a complaint, then started again. Killed inside the reply (the stand-in never
// answers that sendMessage), after the ticket, its staff event and the complaint's feedback row
// were committed and after the next getUpdates confirmed the update to Telegram: the restarted
// process finds the update it kept, writes nothing again and sends the reply once. Killed inside
// the chat model's theme tagging (the LLM stand-in never answers), before anything was written:
// the restarted process does the work.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Database } from "../../core/db/client";
import { makeCustomer } from "../../core/staff/test-fixtures";
import { exited, spawnRetention } from "../../test/helpers/campaign-fixture";
import { createTestDatabase } from "../../test/helpers/db";
import { startBotApiStandIn, type BotApiStandIn } from "./testing/bot-api-stand-in";

const unavailable = inject("pgUnavailable");
const TOKEN = "4545:crash-test";
const COMPLAINT = "My parcel arrived damaged, this is unacceptable";

/** An OpenAI-compatible server that never answers: whoever calls it waits there. */
async function startSilentModel(): Promise<{ baseUrl: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const server = http.createServer((req) => {
    if (req.url?.endsWith("/chat/completions")) calls++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls: () => calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function textUpdate(updateId: number, chatId: number, text: string): object {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Kim" },
      from: { id: chatId, is_bot: false, first_name: "Kim", language_code: "en" },
      text,
    },
  };
}

describe.skipIf(!!unavailable)(
  `telegram update survives SIGKILL${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let db: Database;
    let telegram: BotApiStandIn;
    beforeAll(async () => {
      db = await createTestDatabase("postgres");
      telegram = await startBotApiStandIn();
    });
    afterAll(async () => {
      await telegram?.close();
      await db?.close();
    });

    const env = (extra: Record<string, string> = {}) => {
      if (db.target.kind !== "postgres") throw new Error("needs PostgreSQL");
      return {
        DATABASE_URL: db.target.url,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        SCHEDULER_ENABLED: "false",
        SLACK_BOT_TOKEN: "",
        OPENAI_API_KEY: "",
        LOG_LEVEL: "warn",
        ...extra,
      };
    };

    /**
     * Starts `retention start`, waits for each condition in turn while it lives (failing at once if it
     * exits), then stops it with `signal`.
     */
    async function withProcess(
      extra: Record<string, string>,
      conditions: [what: string, holds: () => boolean | Promise<boolean>][],
      signal: NodeJS.Signals,
    ): Promise<void> {
      const child = spawnRetention(["start"], env(extra));
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      try {
        for (const [what, holds] of conditions) {
          while (!(await holds())) {
            if (child.exitCode !== null || child.signalCode !== null)
              throw new Error(`retention start exited waiting for ${what}: ${stderr.slice(0, 2000)}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      } finally {
        child.kill(signal);
        await exited(child);
      }
      if (signal === "SIGKILL") expect(child.signalCode, stderr.slice(0, 2000)).toBe("SIGKILL");
    }

    /** What the complaint of `customerId` wrote. */
    async function effects(customerId: number) {
      const tickets = await db.prisma.ticket.findMany({ where: { customerId } });
      const ids = tickets.map((t) => t.id);
      return {
        tickets,
        messages: await db.prisma.ticketMessage.count({ where: { ticketId: { in: ids } } }),
        staffEvents: await db.prisma.$queryRaw<{ type: string }[]>`
        SELECT type FROM staff_events WHERE (payload->>'customerId')::int = ${customerId}`,
        complaints: await db.prisma.feedback.count({ where: { customerId, kind: "complaint" } }),
      };
    }

    const marker = (updateId: number) =>
      db.prisma.processedUpdate.findUnique({
        where: { source_updateId: { source: "telegram", updateId: String(updateId) } },
      });

    it("killed inside the reply after its write: handled once, answered once after restart", async () => {
      const chatId = 7_100_001;
      const updateId = 9_100_001;
      const customer = await makeCustomer(db, { telegramChatId: BigInt(chatId) });
      telegram.hold = (chat) => chat === chatId;
      telegram.pushUpdates([textUpdate(updateId, chatId, COMPLAINT)]);

      await withProcess(
        {},
        [
          ["the reply held", () => telegram.held.some((s) => s.chatId === chatId)],
          // Telegram was told: the runner asked for the next batch while the reply was pending.
          ["the update confirmed", () => telegram.confirmedOffset > updateId],
        ],
        "SIGKILL",
      );
      const atKill = await effects(customer.id);
      expect(atKill.tickets).toHaveLength(1);
      const kept = await marker(updateId);
      expect(kept?.handledAt).toBeNull();
      expect(kept?.payload).not.toBeNull();
      expect(kept?.outcome).toMatchObject({ type: "ticket_opened", ticketId: atKill.tickets[0]!.id });
      expect(telegram.delivered().filter((s) => s.chatId === chatId)).toHaveLength(0);

      telegram.hold = () => false;
      await withProcess(
        {},
        [["the update finished", async () => (await marker(updateId))?.handledAt != null]],
        "SIGTERM",
      );
      const after = await effects(customer.id);
      expect(after.tickets).toHaveLength(1);
      expect(after.tickets[0]!.id).toBe(atKill.tickets[0]!.id);
      expect(after.messages).toBe(1);
      expect(after.staffEvents.map((e) => e.type)).toEqual(["ticket_opened"]);
      expect(after.complaints).toBe(1);
      const replies = telegram.delivered().filter((s) => s.chatId === chatId);
      expect(replies).toHaveLength(1);
      expect(replies[0]!.text).toContain(after.tickets[0]!.reference);
      // The conversation state of the answered request was stored with the finish.
      const state = await db.prisma.conversation.findUnique({ where: { key: `tg:${chatId}` } });
      expect((state?.data as { lastRequestAt?: string }).lastRequestAt).toBeDefined();
      expect((await marker(updateId))?.payload).toBeNull();
    });

    it("killed before its write committed: the restarted process does the work once", async () => {
      const chatId = 7_100_002;
      const updateId = 9_100_002;
      const customer = await makeCustomer(db, { telegramChatId: BigInt(chatId) });
      const model = await startSilentModel();
      try {
        telegram.pushUpdates([textUpdate(updateId, chatId, COMPLAINT)]);
        await withProcess(
          { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: model.baseUrl },
          [
            ["the complaint's themes asked of the model", () => model.calls() > 0],
            ["the update confirmed", () => telegram.confirmedOffset > updateId],
          ],
          "SIGKILL",
        );
      } finally {
        await model.close();
      }
      const atKill = await effects(customer.id);
      expect(atKill.tickets).toHaveLength(0);
      expect(atKill.staffEvents).toHaveLength(0);
      const kept = await marker(updateId);
      expect(kept?.outcome).toBeNull();
      expect(kept?.payload).not.toBeNull();

      await withProcess(
        {},
        [["the update finished", async () => (await marker(updateId))?.handledAt != null]],
        "SIGTERM",
      );
      const after = await effects(customer.id);
      expect(after.tickets).toHaveLength(1);
      expect(after.messages).toBe(1);
      expect(after.staffEvents.map((e) => e.type)).toEqual(["ticket_opened"]);
      expect(after.complaints).toBe(1);
      const replies = telegram.delivered().filter((s) => s.chatId === chatId);
      expect(replies).toHaveLength(1);
      expect(replies[0]!.text).toContain(after.tickets[0]!.reference);
    });
  },
);
