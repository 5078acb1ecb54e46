// Scheduler instances sharing one database (PGlite and PostgreSQL): leases on the database's
// clock with a fencing token; a run whose lease is taken, or cannot be renewed, is stopped (its
// signal fires and its database refuses further queries); each slot runs once and an exclusive
// job never overlaps itself. On PostgreSQL also: a campaign planned and dispatched by two
// instances produces one set of messages.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type TelegramServer from "telegram-test-api";
import { createCampaign } from "../core/campaigns/campaign";
import { insertScoredCustomers, upsertOffers } from "../core/campaigns/test-fixtures";
import { loadConfig, type Config } from "../core/config/config";
import { openDatabase, type Database } from "../core/db/client";
import { silentLogger } from "../core/log";
import type { AppContext } from "../jobs/context";
import { campaignJob } from "../jobs/campaign.job";
import { dispatchJob } from "../jobs/dispatch.job";
import { LeaseLostError } from "../jobs/fenced-database";
import { acquireLease, holdsLease, releaseLease, renewLease } from "../jobs/job-lease";
import type { JobDefinition, JobName, JobRun } from "../jobs/job-registry";
import { runJobSlot, startScheduler, type SlotOutcome } from "../jobs/scheduler";
import { createTestDatabase, describeEachDatabase } from "./helpers/db";
import { messagesPerChat, startEmulator } from "./helpers/campaign-fixture";

const TOKEN = "777:scheduler-test";
const unavailable = inject("pgUnavailable");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `condition` holds; the test's own timeout bounds the wait. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(25);
}

function contextOf(db: Database, config: Config, now: () => Date = () => new Date()): AppContext {
  return { config, db, log: silentLogger, now, close: async () => {} };
}

async function expireLease(db: Database, job: string): Promise<void> {
  await db.prisma.$executeRaw`
    UPDATE job_leases SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 second' WHERE name = ${job}`;
}

describeEachDatabase("scheduler leases", (kind) => {
  let db: Database;
  let other: Database; // a second instance: its own pool on PostgreSQL, the same engine on PGlite
  let config: Config;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    other = db.target.kind === "postgres" ? await openDatabase(db.target) : db;
    config = loadConfig({ DATABASE_URL: db.target.kind === "postgres" ? db.target.url : undefined });
  });
  afterAll(async () => {
    if (other !== db) await other?.close();
    await db?.close();
  });

  it("takes, renews and releases leases by the database's clock, raising the fence on every acquisition", async () => {
    const a = await acquireLease(db, "clock", "A", 60_000, "s1");
    expect(a).toEqual({ job: "clock", holder: "A", fence: 1 });
    expect(await acquireLease(other, "clock", "B", 60_000, "s1")).toBeNull();
    // The lease ends a minute after the database's now, whatever this host's clock says.
    const [row] = await db.prisma.$queryRaw<{ leftMs: number }[]>`
      SELECT (extract(epoch FROM expires_at - (now() AT TIME ZONE 'UTC')) * 1000)::float8 AS "leftMs"
      FROM job_leases WHERE name = 'clock'`;
    expect(row!.leftMs).toBeGreaterThan(50_000);
    expect(row!.leftMs).toBeLessThanOrEqual(60_000);

    await expireLease(db, "clock");
    const b = await acquireLease(other, "clock", "B", 60_000, "s2");
    expect(b?.fence).toBe(2);
    expect(await renewLease(db, a!, 60_000)).toBe(false);
    expect(await holdsLease(db.prisma, a!)).toBe(false);
    await releaseLease(db, a!); // fenced: must not end B's lease
    expect(await acquireLease(db, "clock", "A", 60_000, "s3")).toBeNull();
    expect(await renewLease(other, b!, 60_000)).toBe(true);
    await releaseLease(other, b!);
    expect((await acquireLease(db, "clock", "A", 60_000, "s3"))?.fence).toBe(3);
  });

  it("records a run on the database's clock even when the process's clock is decades off", async () => {
    const job: JobDefinition = { name: "skewed", cronFrom: () => "* * * * *", run: async () => ({}) };
    const skewed = contextOf(db, config, () => new Date("2001-01-01T00:00:00Z"));
    const outcome = await runJobSlot(skewed, job, "slot-skew", { holder: "A" });
    expect(outcome.type).toBe("ran");
    const [row] = await db.prisma.$queryRaw<{ ageS: number; leaseAgeS: number }[]>`
      SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - r.started_at)::float8 AS "ageS",
             extract(epoch FROM (now() AT TIME ZONE 'UTC') - l.leased_at)::float8 AS "leaseAgeS"
      FROM job_runs r JOIN job_leases l ON l.name = r.job WHERE r.job = 'skewed'`;
    expect(Math.abs(row!.ageS)).toBeLessThan(3600);
    expect(Math.abs(row!.leaseAgeS)).toBeLessThan(3600);
  });

  it("stops a job that ignores its signal when another instance takes its lease: its queries are refused", async () => {
    let started = false;
    let failure: unknown;
    let queries = 0;
    const stubborn: JobDefinition = {
      name: "stubborn",
      cronFrom: () => "* * * * *",
      async run(ctx) {
        started = true;
        try {
          for (;;) {
            await ctx.db.prisma.$queryRaw`SELECT 1`;
            queries++;
            await sleep(20);
          }
        } catch (error) {
          failure = error;
          throw error;
        }
      },
    };
    const running = runJobSlot(contextOf(db, config), stubborn, "slot-1", { holder: "A", leaseMs: 2_000 });
    await until(() => started && queries > 0);
    await expireLease(other, "stubborn"); // as if A had stalled past its lease
    const taken = await acquireLease(other, "stubborn", "B", 60_000, "slot-2");
    expect(taken?.fence).toBe(2);

    const outcome = await running;
    expect(outcome.type).toBe("lost");
    expect(failure).toBeInstanceOf(LeaseLostError);
    expect((failure as LeaseLostError).reason).toMatch(/taken by another instance/);
    const run = await db.prisma.jobRun.findFirstOrThrow({ where: { job: "stubborn", slot: "slot-1" } });
    expect(run.status).toBe("lost");
    expect(run.error).toMatch(/taken by another instance/);
    // A left B's lease alone.
    const lease = await db.prisma.jobLease.findUniqueOrThrow({ where: { name: "stubborn" } });
    expect({ holder: lease.holder, fence: lease.fence }).toEqual({ holder: "B", fence: 2 });
    expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });

  it("aborts a cooperative job's signal when its lease is taken; model queries, raw reads and scripts are refused", async () => {
    let seen: JobRun | undefined;
    const refusals: unknown[] = [];
    const polite: JobDefinition = {
      name: "polite",
      cronFrom: () => "* * * * *",
      async run(ctx, run) {
        seen = run;
        await new Promise((resolve) => run!.signal.addEventListener("abort", resolve, { once: true }));
        for (const attempt of [
          () => ctx.db.prisma.jobRun.count(),
          () => ctx.db.queryRows("SELECT 1"),
          () => ctx.db.execScript("SELECT 1"),
        ])
          await attempt().catch((error: unknown) => refusals.push(error));
        return { stopped: true };
      },
    };
    const running = runJobSlot(contextOf(db, config), polite, "slot-1", { holder: "A", leaseMs: 2_000 });
    await until(() => seen !== undefined);
    expect(seen!.lease?.fence).toBe(1);
    await expireLease(other, "polite");
    await acquireLease(other, "polite", "B", 60_000, "slot-2");

    const outcome = await running;
    expect(outcome.type).toBe("lost");
    expect(seen!.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(refusals).toHaveLength(3);
    for (const refusal of refusals) expect(refusal).toBeInstanceOf(LeaseLostError);
  });

  it("stops a job whose renewals cannot complete before its lease could expire", async () => {
    let seen: JobRun | undefined;
    const waiting: JobDefinition = {
      name: "cut-off",
      cronFrom: () => "* * * * *",
      async run(_ctx, run) {
        seen = run;
        await new Promise((resolve) => run!.signal.addEventListener("abort", resolve, { once: true }));
        return {};
      },
    };
    const running = runJobSlot(contextOf(db, config), waiting, "slot-1", { holder: "A", leaseMs: 1_200 });
    await until(() => seen !== undefined);
    // Another session locks the lease row: every renewal of A's waits and none completes.
    await other.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT name FROM job_leases WHERE name = 'cut-off' FOR UPDATE`;
        await until(() => seen!.signal.aborted);
      },
      { timeout: 60_000 },
    );
    const outcome = await running;
    expect(outcome.type).toBe("lost");
    expect((seen!.signal.reason as LeaseLostError).reason).toMatch(/could not be renewed/);
    const run = await db.prisma.jobRun.findFirstOrThrow({ where: { job: "cut-off" } });
    expect(run.status).toBe("lost");
  });

  it("two scheduler instances run each slot once and never overlap an exclusive job", async () => {
    const intervals: { start: number; end: number }[] = [];
    const slow: JobDefinition = {
      name: "slow",
      cronFrom: () => "* * * * * *",
      async run() {
        const start = Date.now();
        await sleep(1300);
        intervals.push({ start, end: Date.now() });
        return {};
      },
    };
    const outcomes: { instance: string; slot: string; outcome: SlotOutcome }[] = [];
    const jobs = new Map<JobName, JobDefinition>([["score", slow]]);
    const schedulers = [db, other].map((instanceDb, i) =>
      startScheduler(contextOf(instanceDb, config), {
        jobs,
        holder: i === 0 ? "A" : "B",
        leaseMs: 5_000,
        onSlot: (_job, slot, outcome) => outcomes.push({ instance: i ? "B" : "A", slot, outcome }),
      }),
    );
    await until(
      () =>
        outcomes.filter((o) => o.outcome.type === "ran").length >= 2 &&
        outcomes.some((o) => o.instance === "A") &&
        outcomes.some((o) => o.instance === "B"),
    );
    await Promise.all(schedulers.map((s) => s.stop()));

    const ran = outcomes.filter((o) => o.outcome.type === "ran");
    expect(new Set(ran.map((o) => o.slot)).size).toBe(ran.length);
    expect(outcomes.some((o) => o.outcome.type === "busy" || o.outcome.type === "taken")).toBe(true);
    expect(outcomes.some((o) => o.outcome.type === "lost" || o.outcome.type === "failed")).toBe(false);
    const sorted = [...intervals].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
    const rows = await db.prisma.jobRun.findMany({ where: { job: "slow" } });
    expect(rows.filter((r) => r.status === "ok").length).toBe(ran.length);
  });
});

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
        TELEGRAM_RATE_PER_SECOND: "1000", // what is tested is once-only, not Telegram's limits
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
