// Benchmark: delivery and planning on a PostgreSQL 15 server started for the run.
//   npm run bench:dispatch                          all three parts
//   npm run bench:dispatch -- --messages 600 --rate 30 --burst 3000 --plan 1000000 --plan-budget 0
// 1. Throughput against the Telegram emulator (telegram-test-api) at the configured rate
//    (default 30 msg/s, as TELEGRAM_RATE_PER_SECOND, the process's one Telegram limiter):
//    achieved / configured (target >= 0.95) and
//    429 answers seen (the emulator never rate-limits, so 0 there says nothing about Telegram).
// 2. Headroom: the same dispatcher with the rate set to 1000/s, to show the per-message cost.
// 3. Planning a campaign over 1,000,000 scored customers (generated with generate_series).
import { createCampaign } from "../core/campaigns/campaign";
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { planCampaign } from "../core/campaigns/plan";
import { upsertOffers } from "../core/campaigns/test-fixtures";
import { loadConfig } from "../core/config/config";
import { openDatabase, type Database } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { silentLogger } from "../core/log";
import { sqlTimestamp } from "../core/messaging/outbox";
import { buildDispatchChannel, runDispatch } from "../jobs/dispatch.job";
import { messagesPerChat, plannedCampaign, startEmulator } from "../test/helpers/campaign-fixture";
import { startPostgres } from "../test/postgres-server";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const messages = arg("messages", 600);
const rate = arg("rate", 30);
const burst = arg("burst", 3000);
const planCustomers = arg("plan", 1_000_000);
const planBudget = arg("plan-budget", 2_000_000); // 0: no budget (every eligible customer is planned)
const TOKEN = "999:bench";

async function freshDatabase(server: Awaited<ReturnType<typeof startPostgres>>, name: string): Promise<Database> {
  const admin = await openDatabase({ kind: "postgres", url: server.url() }, { poolSize: 1 });
  await admin.prisma.$executeRawUnsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  const db = await openDatabase({ kind: "postgres", url: server.url(name) });
  await applyMigrations(db);
  return db;
}

/** Dispatches one planned campaign of about `count` messages at `ratePerSecond`. */
async function dispatchRun(
  server: Awaited<ReturnType<typeof startPostgres>>,
  name: string,
  count: number,
  ratePerSecond: number,
) {
  const db = await freshDatabase(server, name);
  const emulator = await startEmulator();
  try {
    const now = new Date();
    // ~90% of customers are treated (control 10%).
    await plannedCampaign(db, { customers: Math.ceil(count / 0.9), now, prefix: name });
    const queued = await db.prisma.outboxMessage.count();
    const config = loadConfig({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: emulator.config.apiURL,
      TELEGRAM_RATE_PER_SECOND: String(ratePerSecond),
      QUIET_HOURS_START: "0",
      QUIET_HOURS_END: "0",
    });
    const ctx = { config, db, log: silentLogger, now: () => new Date(), close: async () => {} };
    const started = performance.now();
    const stats = await runDispatch(ctx, await buildDispatchChannel(ctx));
    const seconds = (performance.now() - started) / 1000;
    const delivered = [...messagesPerChat(emulator, TOKEN).values()];
    const times = emulator.storage.botMessages.map((m) => m.time).sort((a, b) => a - b);
    const spanSeconds = times.length > 1 ? (times[times.length - 1]! - times[0]!) / 1000 : 0;
    return {
      queued,
      stats,
      seconds,
      delivered: delivered.length,
      duplicates: delivered.filter((n) => n > 1).length,
      spanSeconds,
    };
  } finally {
    await emulator.stop();
    await db.close();
  }
}

async function planBench(server: Awaited<ReturnType<typeof startPostgres>>, customers: number) {
  const db = await freshDatabase(server, "bench_plan");
  try {
    const asOf = new Date();
    let t = performance.now();
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO customers (external_id, telegram_chat_id, marketing_consent, time_zone, locale, updated_at)
       SELECT 'p-' || i, CASE WHEN i % 10 <> 3 THEN 900000000 + i END, i % 25 <> 7,
              (ARRAY['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', NULL])[1 + i % 4], 'en', now()
       FROM generate_series(1, $1::int) AS i`,
      customers,
    );
    const [run] = await db.prisma.$queryRaw<{ id: number }[]>`
      INSERT INTO score_runs (as_of, customers, started_at, finished_at) VALUES (${sqlTimestamp(asOf)}, ${customers}, ${sqlTimestamp(asOf)}, ${sqlTimestamp(asOf)}) RETURNING id`;
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO scores (run_id, customer_id, as_of, churn_probability, risk_band, clv, segment)
       SELECT $1::int, id, now(), p, CASE WHEN p >= 0.7 THEN 'high' WHEN p >= 0.4 THEN 'medium' ELSE 'low' END,
              20 + (id::bigint * 53) % 400, CASE WHEN id % 3 = 0 THEN 'At risk' ELSE 'Hibernating' END
       FROM (SELECT id, ((id::bigint * 7919) % 1000) / 1000.0 AS p FROM customers) c`,
      run!.id,
    );
    await db.prisma.$executeRawUnsafe(`ANALYZE`);
    const generated = (performance.now() - t) / 1000;
    await upsertOffers(db, [
      { key: "cheap", cost: 2, saveProbability: 0.08 },
      { key: "mid", cost: 8, saveProbability: 0.18 },
      { key: "rich", cost: 20, saveProbability: 0.3 },
    ]);
    const created = await createCampaign(
      db,
      {
        name: "million",
        offerKeys: ["cheap", "mid", "rich"],
        seed: "bench",
        budget: planBudget > 0 ? planBudget : null,
      },
      { now: asOf },
    );
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const policy = contactPolicyFromConfig(loadConfig({}));
    t = performance.now();
    const planned = await planCampaign(db, created.value.id, { now: asOf, policy });
    const planSeconds = (performance.now() - t) / 1000;
    if (!planned.ok) throw new Error(JSON.stringify(planned.error));
    t = performance.now();
    const again = await planCampaign(db, created.value.id, { now: asOf, policy });
    const replanSeconds = (performance.now() - t) / 1000;
    return { generated, planSeconds, replanSeconds, summary: planned.value, again: again.ok ? again.value : null };
  } finally {
    await db.close();
  }
}

const server = await startPostgres();
try {
  console.log(`PostgreSQL 15 on 127.0.0.1:${server.port}`);
  if (messages > 0) {
    const r = await dispatchRun(server, "bench_rate", messages, rate);
    // Deliveries are spaced 1/rate apart: n deliveries span n - 1 intervals.
    const achieved = (r.stats.sent - 1) / r.spanSeconds;
    console.log(`\n1. configured rate ${rate} msg/s, ${r.queued} messages queued`);
    console.log(
      `   sent ${r.stats.sent} in ${r.seconds.toFixed(1)} s (first to last delivery ${r.spanSeconds.toFixed(1)} s)`,
    );
    console.log(
      `   achieved ${achieved.toFixed(2)} msg/s = ${(achieved / rate).toFixed(3)} of configured (target >= 0.95); end to end incl. claiming ${(r.stats.sent / r.seconds).toFixed(2)} msg/s`,
    );
    console.log(
      `   429s seen: ${r.stats.rateLimited}; retries ${r.stats.retry}; failed ${r.stats.failed}; duplicates in the emulator ${r.duplicates}`,
    );
  }
  if (burst > 0) {
    const r = await dispatchRun(server, "bench_burst", burst, 1000);
    console.log(
      `\n2. headroom: rate set to 1000 msg/s, ${r.queued} messages: sent ${r.stats.sent} in ${r.seconds.toFixed(1)} s = ${(r.stats.sent / r.seconds).toFixed(0)} msg/s end to end, duplicates ${r.duplicates}`,
    );
  }
  if (planCustomers > 0) {
    const r = await planBench(server, planCustomers);
    const s = r.summary;
    console.log(
      `\n3. planning over ${planCustomers.toLocaleString("en")} scored customers (generated in ${r.generated.toFixed(1)} s)`,
    );
    console.log(
      `   planCampaign ${r.planSeconds.toFixed(1)} s: treatment ${s.treatment}, control ${s.control}, offers ${s.offersIssued}, messages ${s.messagesQueued}, committed cost ${s.committedCost.toFixed(0)}`,
    );
    console.log(
      `   steps (ms): ${Object.entries(s.timings)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
    console.log(
      `   excluded: ${Object.entries(s.excluded)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}`,
    );
    console.log(
      `   re-plan (idempotent, nothing new): ${r.replanSeconds.toFixed(1)} s, +${r.again?.treatment ?? "?"} treatment, +${r.again?.messagesQueued ?? "?"} messages`,
    );
  }
} finally {
  server.stop();
}
process.exit(0);
