// Import throughput: 1,000,000 purchases (100,000 customers) from CSV into embedded PGlite
// (file-backed) and into a PostgreSQL 15 server started for the run. Prints rows per second, and
// beside them a bare `COPY` of the same orders file into a table indexed as purchases are (a
// unique id, customer and date, date): `RATIO import/copy <database> = 0.NN` is the import's
// rows per second over the COPY's, both measured in this run.
// Usage: npm run bench:import [-- --rows 1000000] [--only pglite|postgres]
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { once } from "node:events";
import { openDatabase, type Database } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { importFile } from "../core/import/importer";
import { postgresUnavailableReason, startPostgres } from "../test/postgres-server";

const rowsArg = process.argv.indexOf("--rows");
const ROWS = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;
const onlyArg = process.argv.indexOf("--only");
const ONLY = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
if (ONLY !== undefined && ONLY !== "pglite" && ONLY !== "postgres")
  throw new Error(`--only takes pglite or postgres, not ${ONLY}`);
const CUSTOMERS = Math.max(1, Math.round(ROWS / 10));
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-import-"));

async function writeFiles(): Promise<{ customers: string; orders: string }> {
  const customers = path.join(dir, "customers.csv");
  const orders = path.join(dir, "orders.csv");
  const c = createWriteStream(customers);
  c.write("customer_id,name,email,tier,age\n");
  for (let i = 0; i < CUSTOMERS; i++)
    if (!c.write(`c${i},Customer ${i},c${i}@example.com,${["gold", "silver", "bronze"][i % 3]},${20 + (i % 50)}\n`))
      await once(c, "drain");
  c.end();
  await once(c, "finish");
  const o = createWriteStream(orders);
  o.write("order_id,customer_id,date,amount,category\n");
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < ROWS; i++) {
    const day = new Date(start + ((i * 7919) % 700) * 86_400_000).toISOString().slice(0, 10);
    if (!o.write(`o${i},c${i % CUSTOMERS},${day},${((i * 31) % 20000) / 100 + 1},cat${i % 7}\n`))
      await once(o, "drain");
  }
  o.end();
  await once(o, "finish");
  return { customers, orders };
}

async function run(label: string, db: Database, files: { customers: string; orders: string }) {
  await applyMigrations(db);
  const now = new Date();
  let t = Date.now();
  const c = await importFile(db, { kind: "customers", file: files.customers, timeZone: "UTC", now });
  const cSeconds = (Date.now() - t) / 1000;
  const copySeconds = await bareCopy(db, files.orders);
  t = Date.now();
  let lastPrint = 0;
  const o = await importFile(db, {
    kind: "orders",
    file: files.orders,
    timeZone: "UTC",
    now,
    onProgress: (p) => {
      if (Date.now() - lastPrint > 10_000) {
        lastPrint = Date.now();
        process.stderr.write(`  ${label}: ${p.rows} rows\n`);
      }
    },
  });
  const oSeconds = (Date.now() - t) / 1000;
  if (o.rejected || c.rejected) throw new Error(`${label}: ${o.rejected + c.rejected} rows rejected`);
  t = Date.now();
  const again = await importFile(db, { kind: "orders", file: files.orders, timeZone: "UTC", now });
  const againSeconds = (Date.now() - t) / 1000;
  console.log(
    `${label.padEnd(10)} customers ${CUSTOMERS.toLocaleString("en")} in ${cSeconds.toFixed(1)} s (${Math.round(CUSTOMERS / cSeconds).toLocaleString("en")} rows/s); ` +
      `purchases ${o.written.inserted.toLocaleString("en")} in ${oSeconds.toFixed(1)} s (${Math.round(ROWS / oSeconds).toLocaleString("en")} rows/s); ` +
      `re-import ${againSeconds.toFixed(1)} s, ${again.written.unchanged.toLocaleString("en")} unchanged`,
  );
  const importRate = ROWS / oSeconds;
  const copyRate = ROWS / copySeconds;
  console.log(
    `${label.padEnd(10)} bare COPY of the orders file ${copySeconds.toFixed(1)} s (${Math.round(copyRate).toLocaleString("en")} rows/s); ` +
      `import ${Math.round(importRate).toLocaleString("en")} rows/s`,
  );
  console.log(
    `RATIO import/copy ${label === "PostgreSQL" ? "postgres" : "pglite"} = ${(importRate / copyRate).toFixed(2)}`,
  );
}

/** Seconds to COPY the orders CSV as it is into a table with the indexes purchases have. */
async function bareCopy(db: Database, orders: string): Promise<number> {
  await db.execScript(`
    DROP TABLE IF EXISTS bench_copy_orders;
    CREATE TABLE bench_copy_orders (
      id serial PRIMARY KEY, order_id text NOT NULL UNIQUE, customer_id text NOT NULL,
      date timestamp NOT NULL, amount numeric(14, 2) NOT NULL, category text);
    CREATE INDEX ON bench_copy_orders (customer_id, date);
    CREATE INDEX ON bench_copy_orders (date);`);
  const t = Date.now();
  await db.copyFrom(
    "COPY bench_copy_orders (order_id, customer_id, date, amount, category) FROM STDIN WITH (FORMAT csv, HEADER true)",
    createReadStream(orders) as AsyncIterable<Buffer>,
  );
  const seconds = (Date.now() - t) / 1000;
  const [row] = await db.queryRows<{ n: number }>("SELECT count(*)::int AS n FROM bench_copy_orders");
  if (row?.n !== ROWS) throw new Error(`bare COPY loaded ${row?.n} rows, not ${ROWS}`);
  await db.execScript("DROP TABLE bench_copy_orders");
  return seconds;
}

const files = await writeFiles();
console.log(
  `bench:import — ${ROWS.toLocaleString("en")} purchases, ${CUSTOMERS.toLocaleString("en")} customers, batches of 5,000 (customers) and 50,000 (orders)`,
);
try {
  if (ONLY !== "postgres") {
    const lite = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
    await run("PGlite", lite, files);
    await lite.close();
  }
  const reason = ONLY === "pglite" ? "--only pglite" : postgresUnavailableReason();
  if (reason) console.log(`PostgreSQL skipped: ${reason}`);
  else {
    const server = await startPostgres();
    try {
      const pg = await openDatabase({ kind: "postgres", url: server.url() });
      await run("PostgreSQL", pg, files);
      await pg.close();
    } finally {
      server.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
