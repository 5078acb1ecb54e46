// The migration runner: each migration whole on one connection, and one migrating process at a time.
import { createHash } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { openDatabase, type Database } from "./client";
import { applyMigrations, type Migration } from "./migrate";

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
}

const opened: Database[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});

async function appliedCount(db: Database, name: string): Promise<number> {
  const rows = await db.queryRows<{ n: number }>(
    `SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = $1`,
    [name],
  );
  return rows[0]!.n;
}

describeEachDatabase("applyMigrations", (kind) => {
  it("rolls a failing migration back whole, on the connection that ran it, and the database stays usable", async () => {
    const db = await createTestDatabase(kind);
    opened.push(db);
    const bad = migration(
      "29990101000000_bad",
      "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT 1/0;",
    );
    await expect(applyMigrations(db, { migrations: [bad] })).rejects.toThrow(/migration 29990101000000_bad failed/);
    const left = await db.queryRows<{ t: string | null }>("SELECT to_regclass('public.half_done')::text AS t");
    expect(left[0]!.t).toBeNull();
    expect(await appliedCount(db, bad.name)).toBe(0);
    // The session is not left inside an aborted transaction.
    expect(await db.queryRows("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("applies a migration once when two processes migrate at the same time", async () => {
    const db = await createTestDatabase(kind);
    opened.push(db);
    const second = db.target.kind === "postgres" ? await openDatabase(db.target, { poolSize: 2 }) : db; // PGlite: one session
    if (second !== db) opened.push(second);
    const m = migration("29990101000001_once", "CREATE TABLE made_once (id int PRIMARY KEY);");
    const results = await Promise.all([
      applyMigrations(db, { migrations: [m] }),
      applyMigrations(second, { migrations: [m] }),
    ]);
    expect(results.flat()).toEqual([m.name]);
    expect(await appliedCount(db, m.name)).toBe(1);
  });
});
