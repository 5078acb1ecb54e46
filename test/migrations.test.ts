import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, type Database } from "../core/db/client";
import { applyMigrations, assertMigrated, migrationStatus, UnmigratedDatabaseError } from "../core/db/migrate";
import { createBlankPGlite, createTestDatabase, describeEachDatabase, postgresUrl } from "./helpers/db";

// The catalog of a database: every column with its type, nullability and default, every
// index and constraint. Two databases that print the same catalog have the same schema.
async function catalog(db: Database): Promise<string[]> {
  const columns = await db.prisma.$queryRaw<{ line: string }[]>`
    SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`;
  const indexes = await db.prisma.$queryRaw<{ line: string }[]>`
    SELECT tablename || ' ' || indexdef AS line FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`;
  const constraints = await db.prisma.$queryRaw<{ line: string }[]>`
    SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS line
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace `;
  return [...columns, ...indexes, ...constraints]
    .map((r) => r.line)
    .filter((line) => !line.includes("_prisma_migrations"))
    .sort();
}

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * `prisma migrate diff --from-empty --to-schema-datamodel`: schema.prisma as one SQL script. The
 * CLI connects to a database even for a diff between schema files and changes nothing there; the
 * test server's spares it a throwaway embedded database (PGlite's initdb, seconds of CPU).
 */
async function schemaScript(): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      path.join(ROOT, "node_modules/prisma/build/index.js"),
      ...["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
    ],
    {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DATABASE_URL: postgresUrl("postgres") ?? "" },
    },
  );
  return stdout;
}
let schemaSql: Promise<string> | undefined;

describeEachDatabase("migrations", (kind) => {
  let migrated: Database;
  beforeAll(async () => {
    migrated = await createTestDatabase(kind);
  });
  afterAll(() => migrated?.close());

  it("describe the same database as schema.prisma", async () => {
    const fromSchema = kind === "pglite" ? await createBlankPGlite() : await createBlank();
    try {
      await fromSchema.execScript(await (schemaSql ??= schemaScript()));
      const expected = await catalog(fromSchema);
      expect(expected.length).toBeGreaterThan(100);
      expect(await catalog(migrated)).toEqual(expected);
    } finally {
      await fromSchema.close();
    }
  });

  it("are all applied, and applying again changes nothing", async () => {
    await expect(assertMigrated(migrated)).resolves.toBeUndefined();
    expect(await applyMigrations(migrated)).toEqual([]);
    expect((await migrationStatus(migrated)).pending).toEqual([]);
  });

  async function createBlank(): Promise<Database> {
    // a new, empty server database (the test databases are copies of the migrated template)
    const admin = await openDatabase({ kind: "postgres", url: postgresUrl("postgres")! });
    const name = `blank_${Date.now()}`;
    await admin.prisma.$executeRawUnsafe(`CREATE DATABASE ${name}`);
    await admin.close();
    return openDatabase({ kind: "postgres", url: postgresUrl(name)! });
  }
});

// A Prisma CLI command (`prisma migrate status`, the diff above) ends when its work is done: the
// PostgreSQL pool of prisma.config.ts holds nothing that keeps the process alive once idle.
it.skipIf(!postgresUrl("postgres"))("the Prisma CLI's PostgreSQL pool lets the process end once idle", async () => {
  const probe = `
    const { default: config } = await import(${JSON.stringify(path.join(ROOT, "prisma.config.ts"))});
    const connected = await (await config.adapter()).connect();
    const result = await connected.value.queryRaw({ sql: "SELECT 1 AS one", args: [], argTypes: [] });
    await new Promise((resolve) => setImmediate(resolve));
    console.log(JSON.stringify({ ok: result.ok, alive: process.getActiveResourcesInfo() }));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "--eval", probe],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, DATABASE_URL: postgresUrl("postgres")! } },
  );
  const { ok, alive } = JSON.parse(stdout) as { ok: boolean; alive: string[] };
  expect(ok).toBe(true);
  // Without allowExitOnIdle, its socket and idle timer kept the command alive for 10 s more.
  expect(alive).not.toContain("TCPSocketWrap");
  expect(alive).not.toContain("Timeout");
});

it("an unmigrated database is refused with the command to run", async () => {
  const blank = await createBlankPGlite();
  try {
    const error = await assertMigrated(blank).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnmigratedDatabaseError);
    expect(String((error as Error).message)).toMatch(/npm run db:migrate/);
    expect((error as UnmigratedDatabaseError).status.pending.length).toBeGreaterThan(0);
  } finally {
    await blank.close();
  }
});
