// Two scheduler instances against one PostgreSQL database, firing the same schedules: each slot
// runs once, an exclusive job never overlaps itself across instances, and the campaign planned
// and dispatched by both produces one set of messages.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type TelegramServer from "telegram-test-api";
import { createCampaign } from "../core/campaigns/campaign";
import { insertScoredCustomers, upsertOffers } from "../core/campaigns/test-fixtures";
import { loadConfig } from "../core/config/config";
import { openDatabase, type Database } from "../core/db/client";
import { silentLogger } from "../core/log";
import type { AppContext } from "../jobs/context";
import { campaignJob } from "../jobs/campaign.job";
import { dispatchJob } from "../jobs/dispatch.job";
import type { JobDefinition, JobName } from "../jobs/job-registry";
import { startScheduler, type SlotOutcome } from "../jobs/scheduler";
import { createTestDatabase } from "./helpers/db";
import { messagesPerChat, startEmulator } from "./helpers/campaign-fixture";

const TOKEN = "777:scheduler-test";
const unavailable = inject("pgUnavailable");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!!unavailable)(
  `two scheduler instances on one PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let dbA: Database;
    let dbB: Database;
    let emulator: TelegramServer;
    let contexts: AppContext[];

    beforeAll(async () => {
      dbA = await createTestDatabase("postgres");
      if (dbA.target.kind !== "postgres") throw new Error("needs PostgreSQL");
      dbB = await openDatabase(dbA.target); // a second instance: its own pool, same database
      emulator = await startEmulator();
      const config = loadConfig({
        DATABASE_URL: dbA.target.url,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: emulator.config.apiURL,
        DISPATCH_RATE_PER_SECOND: "1000",
        QUIET_HOURS_START: "0",
        QUIET_HOURS_END: "0",
        SCHEDULE_TIME_ZONE: "Europe/Berlin",
      });
      contexts = [dbA, dbB].map((db) => ({
        config,
        db,
        log: silentLogger,
        now: () => new Date(),
        close: async () => {},
      }));
    });
    afterAll(async () => {
      await emulator?.stop();
      await dbB?.close();
      await dbA?.close();
    });

    it("runs each slot once and never overlaps an exclusive job across instances", async () => {
      const intervals: { holder: string; start: number; end: number }[] = [];
      const slow: JobDefinition = {
        name: "slow",
        cronFrom: () => "* * * * * *",
        async run(ctx) {
          const start = Date.now();
          await sleep(1300);
          intervals.push({ holder: String(ctx.db === dbA ? "A" : "B"), start, end: Date.now() });
          return {};
        },
      };
      const outcomes: { instance: string; slot: string; outcome: SlotOutcome }[] = [];
      const jobs = new Map<JobName, JobDefinition>([["score", slow]]);
      const schedulers = contexts.map((ctx, i) =>
        startScheduler(ctx, {
          jobs,
          holder: i === 0 ? "A" : "B",
          leaseMs: 5_000,
          onSlot: (_job, slot, outcome) => outcomes.push({ instance: i ? "B" : "A", slot, outcome }),
        }),
      );
      await sleep(5_500);
      await Promise.all(schedulers.map((s) => s.stop()));

      const ran = outcomes.filter((o) => o.outcome.type === "ran");
      expect(ran.length).toBeGreaterThanOrEqual(2);
      // Each slot ran at most once, and both instances took part.
      expect(new Set(ran.map((o) => o.slot)).size).toBe(ran.length);
      expect(outcomes.some((o) => o.instance === "A") && outcomes.some((o) => o.instance === "B")).toBe(true);
      expect(outcomes.some((o) => o.outcome.type === "busy" || o.outcome.type === "taken")).toBe(true);
      // No two runs overlapped in time, whichever instance ran them.
      const sorted = [...intervals].sort((a, b) => a.start - b.start);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
      const rows = await dbA.prisma.jobRun.findMany({ where: { job: "slow" } });
      expect(rows.filter((r) => r.status === "ok").length).toBe(ran.length);
    });

    it("plans and dispatches a campaign once although both instances run both jobs", async () => {
      const now = new Date();
      const { ids } = await insertScoredCustomers(
        dbA,
        Array.from({ length: 300 }, (_, i) => ({ externalId: `sch${i}`, churnProbability: 0.8, clv: 300 })),
        now,
      );
      await upsertOffers(dbA, [{ key: "s10", cost: 5, saveProbability: 0.2 }]);
      const created = await createCampaign(dbA, { name: "scheduled", offerKeys: ["s10"], seed: "sch" }, { now });
      if (!created.ok) throw new Error("create failed");

      const jobs = new Map<JobName, JobDefinition>([
        ["campaign", campaignJob],
        ["dispatch", dispatchJob],
      ]);
      const every = { campaign: "* * * * * *", dispatch: "* * * * * *" };
      const attempts: { instance: string; outcome: SlotOutcome["type"] }[] = [];
      const schedulers = contexts.map((ctx, i) =>
        startScheduler(ctx, {
          jobs,
          cron: every,
          holder: i ? "B" : "A",
          onSlot: (_job, _slot, outcome) => attempts.push({ instance: i ? "B" : "A", outcome: outcome.type }),
        }),
      );
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        await sleep(500);
        const pending = await dbA.prisma.outboxMessage.count({
          where: { campaignId: created.value.id, status: { not: "sent" } },
        });
        const total = await dbA.prisma.outboxMessage.count({ where: { campaignId: created.value.id } });
        if (total > 0 && pending === 0) break;
      }
      await sleep(1_500); // let a few more slots fire on both instances
      await Promise.all(schedulers.map((s) => s.stop()));

      const assignments = await dbA.prisma.campaignAssignment.groupBy({
        by: ["group"],
        where: { campaignId: created.value.id },
        _count: true,
      });
      const treated = assignments.find((a) => a.group === "treatment")?._count ?? 0;
      expect(assignments.reduce((s, a) => s + a._count, 0)).toBe(ids.length);
      expect(await dbA.prisma.offerIssue.count({ where: { campaignId: created.value.id } })).toBe(treated);
      const perChat = messagesPerChat(emulator, TOKEN);
      expect(perChat.size).toBe(treated);
      expect(Math.max(...perChat.values())).toBe(1);
      // Every slot of every job is recorded once, by one instance.
      const runs = await dbA.prisma.jobRun.findMany({ where: { job: { in: ["campaign", "dispatch"] } } });
      const keys = runs.map((r) => `${r.job}@${r.slot}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(runs.every((r) => r.holder === "A" || r.holder === "B")).toBe(true);
      // Both instances fired the schedules; the losers of a slot found it taken (or the job busy).
      expect(new Set(attempts.map((a) => a.instance))).toEqual(new Set(["A", "B"]));
      expect(attempts.filter((a) => a.outcome === "ran").length).toBe(runs.filter((r) => r.status === "ok").length);
      expect(attempts.some((a) => a.outcome === "taken" || a.outcome === "busy")).toBe(true);
    });
  },
);
