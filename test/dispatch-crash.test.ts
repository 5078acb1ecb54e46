// The exactly-once test: a dispatcher process is killed with SIGKILL in the middle of a
// ~1,300-message campaign against the Telegram emulator, restarted, and run again once its
// dead predecessor's claims have expired (as the next scheduled run would). The emulator's
// record must show: nobody got two messages, control and opted-out customers got none, and
// every treated customer got exactly one, except messages the outbox itself reports as
// "in doubt" (in flight at the moment of the kill: never re-sent, so never duplicated).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type TelegramServer from "telegram-test-api";
import type { Database } from "../core/db/client";
import { createTestDatabase } from "./helpers/db";
import { exited, messagesPerChat, plannedCampaign, spawnRetention, startEmulator } from "./helpers/campaign-fixture";

const TOKEN = "4242:crash-test";
const LEASE_SECONDS = 300;
const unavailable = inject("pgUnavailable");

describe.skipIf(!!unavailable)(
  `dispatcher killed mid-campaign${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let db: Database;
    let emulator: TelegramServer;
    beforeAll(async () => {
      db = await createTestDatabase("postgres");
      emulator = await startEmulator();
    });
    afterAll(async () => {
      await emulator?.stop();
      await db?.close();
    });

    it("resumes after SIGKILL without duplicates or silent losses", async () => {
      if (db.target.kind !== "postgres") throw new Error("needs PostgreSQL");
      const now = new Date();
      const { campaignId } = await plannedCampaign(db, { customers: 1600, now, optedOutEvery: 20, unlinkedEvery: 20 });
      // Customers who opt out after planning must be stopped at send time.
      const lateOptOuts = await db.prisma.$queryRaw<{ customer_id: number }[]>`
      UPDATE customers SET marketing_consent = false, opted_out_at = now()
      WHERE id IN (SELECT customer_id FROM campaign_assignments WHERE campaign_id = ${campaignId} AND "group" = 'treatment' ORDER BY customer_id DESC LIMIT 40)
      RETURNING id AS customer_id`;
      const queued = await db.prisma.outboxMessage.count({ where: { campaignId } });
      expect(queued).toBeGreaterThan(1200);

      const env = {
        DATABASE_URL: db.target.url,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: emulator.config.apiURL,
        // The emulator has no limits; ours at 1,000/s keep the test short. Few messages in flight,
        // so few are in doubt at the kill. A long lease: a send on a loaded machine never runs
        // out of its budget (half the lease) and becomes in doubt; step 3 does not wait it out
        // but runs with its clock set past it (`--as-of`), as the next scheduled run would be.
        TELEGRAM_RATE_PER_SECOND: "1000",
        TELEGRAM_CHAT_RATE_PER_SECOND: "1000",
        DISPATCH_CONCURRENCY: "8",
        DISPATCH_LEASE_SECONDS: String(LEASE_SECONDS),
        DISPATCH_BATCH_SIZE: "200",
        QUIET_HOURS_START: "0",
        QUIET_HOURS_END: "0",
        LOG_LEVEL: "warn",
      };
      const sentSoFar = () => emulator.storage.botMessages.filter((m) => m.botToken === TOKEN).length;

      const t0 = Date.now();
      // 1. Start, and kill it hard once about a third of the messages are out.
      const first = spawnRetention(["run", "dispatch"], env);
      let stderr = "";
      first.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      // However slow the machine, wait for the messages, not for a time.
      while (sentSoFar() < 400) {
        if (first.exitCode !== null)
          throw new Error(`dispatcher exited before the kill (code ${first.exitCode}): ${stderr.slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      first.kill("SIGKILL");
      await exited(first);
      const atKill = sentSoFar();
      const tKill = Date.now();
      const stranded = await db.prisma.outboxMessage.count({
        where: { campaignId, status: { in: ["claimed", "sending"] } },
      });
      expect(atKill).toBeLessThan(queued); // really killed in the middle
      expect(stranded).toBeGreaterThan(0); // it held claims when it died

      // 2. Restart at once: everything not claimed by the dead dispatcher goes out.
      const second = spawnRetention(["run", "dispatch"], env);
      expect(await exited(second)).toBe(0);
      const tSecond = Date.now();
      // 3. The next run after the dead dispatcher's lease takes over its claims.
      const afterLease = new Date(Date.now() + (LEASE_SECONDS + 1) * 1000).toISOString();
      const third = spawnRetention(["run", "dispatch", "--as-of", afterLease], env);
      expect(await exited(third)).toBe(0);
      const tThird = Date.now();

      const rows = await db.prisma.$queryRaw<
        {
          customer_id: number;
          group: string;
          chat: bigint | null;
          status: string | null;
          last_error: string | null;
          consent: boolean;
        }[]
      >`
      SELECT c.id AS customer_id, coalesce(a."group", 'excluded') AS "group", c.telegram_chat_id AS chat, m.status, m.last_error, c.marketing_consent AS consent
      FROM customers c
      LEFT JOIN campaign_assignments a ON a.customer_id = c.id AND a.campaign_id = ${campaignId}
      LEFT JOIN outbox_messages m ON m.campaign_id = ${campaignId} AND m.customer_id = c.id`;
      const perChat = messagesPerChat(emulator, TOKEN);
      const received = (chat: bigint | null) => (chat === null ? 0 : (perChat.get(Number(chat)) ?? 0));

      // Nobody got two.
      expect(Math.max(...perChat.values())).toBe(1);
      // Control, customers left out at planning (opted out, unlinked) and late opt-outs got none.
      const lateIds = new Set(lateOptOuts.map((r) => r.customer_id));
      for (const r of rows.filter((r) => r.group !== "treatment" || lateIds.has(r.customer_id)))
        expect(received(r.chat)).toBe(0);
      expect(rows.filter((r) => r.group === "excluded").length).toBeGreaterThan(120);
      // Every treated, still-consenting customer got exactly one, or the outbox says "in doubt".
      const treated = rows.filter((r) => r.group === "treatment" && !lateIds.has(r.customer_id));
      const inDoubt = treated.filter((r) => r.last_error === "in_doubt");
      const missing = treated.filter((r) => received(r.chat) === 0);
      for (const r of missing) expect(r.last_error).toBe("in_doubt");
      for (const r of treated.filter((r) => r.last_error !== "in_doubt")) {
        expect(received(r.chat)).toBe(1);
        expect(r.status).toBe("sent");
      }
      expect(inDoubt.length).toBeLessThanOrEqual(10);
      const statuses = await db.prisma.outboxMessage.groupBy({ by: ["status"], where: { campaignId }, _count: true });
      // Nothing is left pending or claimed: every message reached a final state.
      expect(statuses.map((s) => s.status).sort()).toEqual(expect.arrayContaining(["sent", "skipped"]));
      expect(statuses.some((s) => ["pending", "claimed", "sending"].includes(s.status))).toBe(false);
      console.info(
        `[crash test] queued ${queued}, in emulator at kill ${atKill}, stranded claims ${stranded}, ` +
          `finally delivered ${[...perChat.values()].length}, in doubt ${inDoubt.length} (of which not delivered ${missing.length}), late opt-outs skipped ${lateIds.size}; ` +
          `kill after ${((tKill - t0) / 1000).toFixed(1)} s, restart ran ${((tSecond - tKill) / 1000).toFixed(1)} s, takeover run ${((tThird - tSecond) / 1000).toFixed(1)} s`,
      );
    });
  },
);
