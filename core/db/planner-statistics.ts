// The planner's statistics of our tables, refreshed where they went stale. PostgreSQL plans from
// them, and PGlite has no autovacuum to take them (a server's runs a minute later at best):
// planned as if still empty, a join of grown tables runs by nested loop, seconds instead of
// milliseconds. Three moments refresh them: an import settling many customers' totals
// (purchase-stats.ts), a customers import moving their count by a tenth, and, on PGlite, the
// features and the nightly housekeeping for every table whose size moved by a tenth.
import type { Database } from "./client";

/**
 * Refreshes the statistics of customers when their number moved by more than a tenth since they
 * were last taken (autovacuum's rule). Customer imports call it when they are done, so the orders
 * import after them is planned knowing how many customers there are.
 */
export async function analyzeCustomersIfStale(db: Database): Promise<void> {
  const [customers] = await db.queryRows<{ stale: boolean }>(
    `SELECT (SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass) NOT BETWEEN 0.9 * n AND 1.1 * n AS stale
       FROM (SELECT count(*) AS n FROM customers) c`,
  );
  if (customers?.stale !== false) await db.execScript(`ANALYZE customers`);
}

/**
 * On PGlite, refreshes the planner's statistics of those of `tables` (or of every table of ours)
 * whose size moved by more than a tenth (and a page) since they were last taken, and names them.
 * Nothing else does it for tables that grow outside imports (feedback, offers, rows written by
 * hand): planned as if they were still empty, the features of 600 customers as of a past date
 * joined their purchases by nested loop and took 13 s instead of 0.1 s. Sizes come from the
 * catalog and the files, without counting rows. A server's autovacuum keeps its own statistics.
 */
export async function analyzeGrownTables(db: Database, tables: readonly string[] | "all"): Promise<string[]> {
  if (db.target.kind !== "pglite") return [];
  const grown = await db.queryRows<{ name: string }>(
    `SELECT format('%I', relname) AS name FROM pg_class
      WHERE ($1::text[] IS NULL AND relkind = 'r' AND relnamespace = 'public'::regnamespace
             OR oid = ANY($1::text[]::regclass[]))
        AND abs(pg_relation_size(oid) / current_setting('block_size')::int - relpages) > 1 + relpages / 10
      ORDER BY 1`,
    [tables === "all" ? null : tables],
  );
  if (grown.length) await db.execScript(`ANALYZE ${grown.map((t) => t.name).join(", ")}`);
  return grown.map((t) => t.name);
}
