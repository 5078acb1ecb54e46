// Benchmark: the whole scoring run (features in SQL, model, segments, reasons, written back)
// against the bare aggregate scan over purchases on the same database.
//   npm run bench:score                      1,000,000 customers / 10,000,000 purchases on
//                                            PostgreSQL, 100,000 / 1,000,000 on PGlite
//   npm run bench:score -- --pg 200000 --pglite 20000 --purchases-per-customer 10
//   npm run bench:score -- --pglite 0        PostgreSQL only
//   npm run bench:score -- --repeat 5        medians of 5 scans and scoring runs (default 3)
//   npm run bench:score -- --model logistic  the churn model to activate (default gbt, the tree;
//                                            logistic, gbt, blend, or auto: what train chooses)
//   npm run bench:score -- --workers 0,1     scoring worker threads (default: SCORING_WORKERS's
//                                            default); a list runs each in turn on the same data
// Data is generated in SQL (generate_series) for speed. Prints the scan time (through Prisma and
// straight through the driver), the scoring time and their ratios (target <= 2), each the median
// of --repeat runs.
import { newPGlite, openDatabase, wrapPGlite, type Database } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { settlePurchaseStats } from "../core/db/purchase-stats";
import { loadConfig } from "../core/config/config";
import { silentLogger } from "../core/log";
import { scoreAll, type ScoreRunSummary } from "../core/analytics/scoring";
import { trainChurnModel } from "../core/analytics/training";
import { MODEL_KINDS, type ModelKind } from "../core/analytics/models/candidates";
import { startPostgres } from "../test/postgres-server";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const pgCustomers = arg("pg", 1_000_000);
const pgliteCustomers = arg("pglite", 100_000);
const perCustomer = arg("purchases-per-customer", 10);
const repeat = Math.max(1, arg("repeat", 3));
const modelArg = args.includes("--model") ? args[args.indexOf("--model") + 1]! : "gbt";
if (modelArg !== "auto" && !(MODEL_KINDS as readonly string[]).includes(modelArg))
  throw new Error(`--model: one of auto, ${MODEL_KINDS.join(", ")}`);
const model = modelArg === "auto" ? undefined : (modelArg as ModelKind);
const asOf = new Date("2026-01-01T00:00:00.000Z");
const config = loadConfig({}).analytics;
const workerCounts = args.includes("--workers")
  ? args[args.indexOf("--workers") + 1]!.split(",").map(Number)
  : [config.scoringWorkers];
if (workerCounts.some((w) => !Number.isInteger(w) || w < 0))
  throw new Error("--workers: whole numbers >= 0, comma-separated");

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
async function timed<T>(label: string, work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  const ms = performance.now() - started;
  console.log(`  ${label.padEnd(34)} ${seconds(ms)}`);
  return { value, ms };
}

/**
 * Customers with a personal purchase rate; one in three stops buying part-way (churners).
 * Purchases per customer vary from 1 to 2 x perCustomer - 1 (mean perCustomer).
 */
async function generate(db: Database, customers: number): Promise<void> {
  await db.execScript(`
    DROP INDEX IF EXISTS "purchases_customer_id_purchased_at_idx";
    DROP INDEX IF EXISTS "purchases_purchased_at_idx";
    DROP INDEX IF EXISTS "purchases_external_id_key";
    ALTER TABLE purchases DROP CONSTRAINT IF EXISTS "purchases_customer_id_fkey";`);
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO customers (external_id, signed_up_at, attributes, updated_at)
     SELECT 'b-' || i, $2::timestamp - make_interval(days => (30 + (i::bigint * 7919) % 700)::int),
            jsonb_build_object('tier', (ARRAY['gold','silver','bronze','basic'])[1 + (i * 31) % 4], 'age', 18 + (i * 13) % 60), now()
       FROM generate_series(1, $1::int) i`,
    customers,
    asOf.toISOString(),
  );
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO purchases (external_id, customer_id, purchased_at, amount, gross_margin)
     SELECT 'b-' || c.id || '-' || k, c.id,
            $1::timestamp - make_interval(secs => (c.age * (1 - c.stop * k::float8 / c.n) * 86400)::int),
            round((c.spend * (0.5 + random()))::numeric, 2),
            CASE WHEN c.id % 5 = 0 THEN round((c.spend * 0.25)::numeric, 2) END
       FROM (SELECT id, extract(epoch FROM $1::timestamp - signed_up_at) / 86400 AS age,
                    1 + (id * 7) % (2 * $2::int - 1) AS n,
                    CASE WHEN id % 3 = 0 THEN 0.4 + random() * 0.4 ELSE 1 END AS stop,
                    5 + random() * 95 AS spend
               FROM customers) c,
            generate_series(0, c.n - 1) k`,
    asOf.toISOString(),
    perCustomer,
  );
  await db.execScript(`
    CREATE UNIQUE INDEX "purchases_external_id_key" ON purchases (external_id);
    CREATE INDEX "purchases_customer_id_purchased_at_idx" ON purchases (customer_id, purchased_at);
    CREATE INDEX "purchases_purchased_at_idx" ON purchases (purchased_at);
    ALTER TABLE purchases ADD CONSTRAINT "purchases_customer_id_fkey" FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE ON UPDATE CASCADE;
    INSERT INTO feedback (customer_id, kind, score, created_at)
      SELECT id, 'nps', (id * 7) % 11, $$${asOf.toISOString()}$$::timestamp - make_interval(days => id % 300) FROM customers WHERE id % 10 = 0;
    INSERT INTO feedback (customer_id, kind, created_at)
      SELECT id, 'complaint', $$${asOf.toISOString()}$$::timestamp - make_interval(days => id % 200) FROM customers WHERE id % 25 = 0;
    ANALYZE;`);
  // As the importer does after each orders file: recount the purchase totals scoring reads.
  await settlePurchaseStats(db);
  // As autovacuum would after a bulk load: sets the visibility map for index-only scans.
  await db.execScript(`VACUUM ANALYZE`);
}

const SCAN = `SELECT customer_id, count(*), sum(amount), max(purchased_at) FROM purchases GROUP BY customer_id`;

async function bench(label: string, db: Database, customers: number): Promise<void> {
  console.log(
    `\n${label}: ${customers.toLocaleString("en")} customers, ~${(customers * perCustomer).toLocaleString("en")} purchases`,
  );
  await timed("generate data (SQL)", () => generate(db, customers));
  const counts = await db.prisma.$queryRawUnsafe<{ c: number; p: number }[]>(
    `SELECT (SELECT count(*) FROM customers)::int AS c, (SELECT count(*) FROM purchases)::int AS p`,
  );
  console.log(`  rows: ${counts[0]!.c.toLocaleString("en")} customers, ${counts[0]!.p.toLocaleString("en")} purchases`);
  const trained = await timed("train churn model (not in ratio)", () =>
    trainChurnModel(db, {
      asOf,
      horizonDays: config.churnHorizonDays,
      log: silentLogger,
      now: () => new Date(),
      ...(model ? { model } : {}),
    }),
  );
  if (trained.value.ok)
    console.log(
      `  active model ${trained.value.value.metrics.chosen}${model ? " (--model)" : ""}, out-of-time AUC ${trained.value.value.metrics.auc?.toFixed(3) ?? "n/a"}, ${trained.value.value.metrics.trainRows} training rows`,
    );
  await db.queryRows(SCAN); // warm the cache the same way for both
  // Each measured `repeat` times, interleaved, and the medians compared: single runs on this
  // kind of shared VM differ by up to 25%. Every scoring run starts from an empty scores table,
  // as the first nightly run does.
  // The scan two ways: through Prisma, as the app's ad-hoc queries run, and straight through the
  // driver, as the scoring run reads its features (the stricter yardstick).
  // With several --workers counts, each repeat runs every count in turn (rotating which goes
  // first), so they meet the same data and, as near as can be, the same load.
  const scans: number[] = [];
  const driverScans: number[] = [];
  const scores = new Map<number, { ms: number; summary: ScoreRunSummary }[]>(workerCounts.map((w) => [w, []]));
  let groups = 0;
  for (let i = 0; i < repeat; i++) {
    let started = performance.now();
    groups = (await db.prisma.$queryRawUnsafe<unknown[]>(SCAN)).length;
    scans.push(performance.now() - started);
    started = performance.now();
    await db.queryRows<unknown>(SCAN);
    driverScans.push(performance.now() - started);
    const order = workerCounts.map((_, k) => workerCounts[(k + i) % workerCounts.length]!);
    const runs: string[] = [];
    for (const workers of order) {
      await db.execScript("TRUNCATE scores");
      started = performance.now();
      const summary = await scoreAll(db, { asOf, config, log: silentLogger, trainIfMissing: false, workers });
      const ms = performance.now() - started;
      scores.get(workers)!.push({ ms, summary });
      runs.push(`scoring ${seconds(ms)} (${workers} workers)`);
    }
    console.log(
      `  run ${i + 1}: scan ${seconds(scans[i]!)} (Prisma), ${seconds(driverScans[i]!)} (driver); ${runs.join(", ")}`,
    );
  }
  const scan = median(scans);
  const scanDriver = median(driverScans);
  console.log(`  ${"bare aggregate scan (Prisma)".padEnd(34)} ${seconds(scan)} (median of ${repeat})`);
  console.log(`  ${"bare aggregate scan (driver)".padEnd(34)} ${seconds(scanDriver)}`);
  for (const workers of workerCounts) {
    const runs = scores.get(workers)!;
    const scoreMs = median(runs.map((s) => s.ms));
    const score = runs.find((s) => s.ms === scoreMs)!;
    const used = score.summary.workers;
    console.log(
      `  ${"whole scoring run".padEnd(34)} ${seconds(score.ms)} (${used === 0 ? "on the main thread" : `${used} worker threads`})`,
    );
    const t = score.summary.timings;
    console.log(
      `    features + model + reasons ${seconds(t.featuresMs)} (of which decoding, model and reasons in JS ${seconds(t.modelMs)}${used ? ", summed over the workers" : ""}), segments + write ${seconds(score.summary.durationMs - t.featuresMs)} (write ${seconds(t.writeMs)})`,
    );
    console.log(
      `  scored ${score.summary.customers.toLocaleString("en")} customers; scan returned ${groups.toLocaleString("en")} groups`,
    );
    console.log(
      `  RATIO scoring / scan = ${(score.ms / scan).toFixed(2)} against the Prisma scan, ${(score.ms / scanDriver).toFixed(2)} against the driver scan (target <= 2)`,
    );
  }
}

if (pgCustomers > 0) {
  const server = await startPostgres();
  try {
    const admin = await openDatabase({ kind: "postgres", url: server.url() }, { poolSize: 1 });
    await admin.prisma.$executeRawUnsafe(`CREATE DATABASE bench`);
    await admin.close();
    const db = await openDatabase({ kind: "postgres", url: server.url("bench") });
    await applyMigrations(db);
    try {
      await bench("PostgreSQL 15", db, pgCustomers);
    } finally {
      await db.close();
    }
  } finally {
    server.stop();
  }
}
if (pgliteCustomers > 0) {
  const pglite = newPGlite();
  await pglite.waitReady;
  const db = wrapPGlite(pglite);
  await applyMigrations(db);
  try {
    await bench("PGlite (in memory)", db, pgliteCustomers);
  } finally {
    await db.close();
  }
}
process.exit(0);
