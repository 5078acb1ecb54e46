// Fresh, migrated databases for tests: each call gets its own, so tests never share rows.
// PGlite: a new instance loaded from the migrated data folder the global setup dumped once per
// run. PostgreSQL: a new database created from the migrated template on the server the global
// setup started.
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type pg from "pg";
import { describe, inject } from "vitest";
import { newPGlite, openDatabase, resolveDatabaseTarget, wrapPGlite, type Database } from "../../core/db/client";
import { withClient } from "../postgres-server";

export type DatabaseKind = "pglite" | "postgres";

/** The suite's PGlite buffer cache (vitest.config.ts sets 16MB: every engine start zeroes it). */
export const TEST_SHARED_BUFFERS = process.env.PGLITE_SHARED_BUFFERS;

/**
 * Hands PGlite bytes already in memory. Node's `Blob.arrayBuffer()` streams and concatenates
 * the parts of a 40 MB tarball for every clone.
 */
class BytesBlob extends Blob {
  constructor(private readonly content: Uint8Array) {
    super([]);
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    return this.content.slice().buffer; // a copy: the loader keeps views into it
  }
}

// Read once per test file (each file runs in a fresh module graph).
let template: Blob | null = null;

function pgliteTemplate(): Blob {
  template ??= new BytesBlob(readFileSync(inject("pgliteTemplatePath")));
  return template;
}

/**
 * A new, unmigrated embedded database in memory: a copy of the folder the global setup dumped
 * right after initdb (running initdb again costs several seconds of CPU).
 */
export async function createBlankPGlite(): Promise<Database> {
  const pglite = newPGlite(undefined, {
    loadDataDir: new BytesBlob(readFileSync(inject("pgliteBlankPath"))),
    sharedBuffers: TEST_SHARED_BUFFERS,
  });
  await pglite.waitReady;
  return wrapPGlite(pglite);
}

/** The server URL for a database name, or null where the PostgreSQL tests are skipped. */
export function postgresUrl(database: string): string | null {
  const base = inject("pgServerUrl");
  return base ? base + database : null;
}

/**
 * PGlite instances handed back by closed test databases, emptied, for the next test in this
 * worker (test files share its modules: vitest.config.ts): loading the template costs about a
 * CPU-second, emptying one a few milliseconds. In memory only, they end with the worker.
 */
const idlePGlites: PGlite[] = [];

// Tables the migrations fill, kept when an instance is emptied.
const SEEDED_TABLES = ["_prisma_migrations"];

// What a test could change besides rows: the schema, roles, per-database settings.
const CATALOG_FINGERPRINT = `
  SELECT md5(coalesce((SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
           coalesce(c.relacl::text, '') || ':' ||
           coalesce((SELECT string_agg(a.attname || ' ' || a.atttypid::text || ' ' || a.attnotnull::text ||
             ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ',' ORDER BY a.attnum)
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''), ';' ORDER BY n.nspname, c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
           AND n.nspname NOT LIKE 'pg_temp%'), '')
    || (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles)
    || (SELECT count(*)::text FROM pg_db_role_setting)
    || (SELECT coalesce(string_agg(p.oid::regprocedure::text || md5(p.prosrc), ',' ORDER BY 1), '')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public')
    || (SELECT coalesce(string_agg(tgname, ',' ORDER BY tgname), '') FROM pg_trigger WHERE NOT tgisinternal)) AS f`;

let templateFingerprint: string | null = null;

/** What emptying a database needs of its connection; a PGlite instance is one as it is. */
interface Connection {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Several statements in one go. */
  exec(sql: string): Promise<unknown>;
}

function serverConnection(client: pg.Client): Connection {
  return {
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as T[] }),
    exec: (sql) => client.query(sql),
  };
}

async function fingerprint(connection: Connection): Promise<string> {
  return (await connection.query<{ f: string }>(CATALOG_FINGERPRINT)).rows[0]!.f;
}

/**
 * Empties every table but the seeded ones and restarts every sequence; true when the catalog is
 * then the template's (`expected`), so the database can serve the next test.
 *
 * Only tables with a page on disk are truncated: a table no row was ever written to since it was
 * last emptied has none, and holds nothing, not even a dead row. A test writes to a few of the
 * tables, and truncating each costs a new file for it and for each of its indexes (on PGlite,
 * all 34 tables took 67 ms of CPU per test database).
 */
async function emptied(connection: Connection, expected: string | null): Promise<boolean> {
  const tables = await connection.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
     WHERE schemaname = 'public' AND tablename <> ALL($1)
       AND pg_relation_size(format('%I.%I', schemaname, tablename)::regclass) > 0`,
    [SEEDED_TABLES],
  );
  if (tables.rows.length) {
    // Without triggers: the purchases table's own TRUNCATE trigger empties tables named here too.
    await connection.exec(`SET session_replication_role = replica;
      TRUNCATE ${tables.rows.map((t) => t.name).join(", ")} RESTART IDENTITY CASCADE;
      RESET session_replication_role`);
  }
  await connection.query(`SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)
                          FROM pg_sequences WHERE schemaname = 'public'`);
  return (await fingerprint(connection)) === expected;
}

async function takePGlite(): Promise<PGlite> {
  const reused = idlePGlites.pop();
  if (reused) return reused;
  const clone = newPGlite(undefined, { loadDataDir: pgliteTemplate(), sharedBuffers: TEST_SHARED_BUFFERS });
  await clone.waitReady;
  templateFingerprint ??= await fingerprint(clone);
  return clone;
}

/**
 * Empties an instance a test is done with and keeps it for the next one; one whose catalog the
 * test changed (a table, a role, a setting) is closed instead, so every test starts from the
 * template as it was.
 */
async function givePGliteBack(pglite: PGlite): Promise<void> {
  try {
    if (pglite.isInTransaction()) await pglite.exec("ROLLBACK");
    await pglite.exec("DISCARD ALL");
    if (await emptied(pglite, templateFingerprint)) {
      idlePGlites.push(pglite);
      return;
    }
  } catch {
    // not reusable: closed below
  }
  if (!pglite.closed) await pglite.close();
}

/**
 * The instance as one test database sees it: once that database is closed, anything still
 * holding it (a bot finishing an update, a timer) gets an error instead of writing into the
 * next test's database.
 */
function leased(pglite: PGlite): { view: PGlite; revoke: () => void } {
  let revoked = false;
  const view = new Proxy(pglite, {
    get(target, property) {
      if (property === "closed") return revoked || target.closed;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (revoked) throw new Error("PGlite is closed");
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { view, revoke: () => (revoked = true) };
}

/** A new, empty, migrated database of the given kind. Close it when done. */
export async function createTestDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === "pglite") {
    const pglite = await takePGlite();
    const { view, revoke } = leased(pglite);
    const db = wrapPGlite(view);
    let closing: Promise<void> | null = null;
    return {
      ...db,
      close: () =>
        (closing ??= (async () => {
          await db.prisma.$disconnect();
          revoke();
          await givePGliteBack(pglite);
        })()),
    };
  }
  const name = idlePostgres.pop() ?? (await createPostgresDatabase());
  const db = await openDatabase({ kind: "postgres", url: postgresUrl(name)! });
  let closing: Promise<void> | null = null;
  return {
    ...db,
    close: () =>
      (closing ??= (async () => {
        await db.close();
        await givePostgresBack(name);
      })()),
  };
}

/** Runs `work` on a new test database of the given kind (createTestDatabase) and closes it after. */
export async function withTestDatabase<T>(kind: DatabaseKind, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(kind);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/**
 * Databases on the test server handed back by closed test databases, emptied, for the next test
 * in this worker, as PGlite instances are: creating one from the template costs the server about
 * a tenth of a CPU-second and the test 0.15 s, emptying one a few milliseconds.
 */
const idlePostgres: string[] = [];
let postgresFingerprint: string | null = null;

async function createPostgresDatabase(): Promise<string> {
  if (!postgresUrl("postgres")) throw new Error(`PostgreSQL unavailable: ${inject("pgUnavailable")}`);
  const name = `t_${randomBytes(6).toString("hex")}`;
  await withPostgres("postgres", (admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE retention_template`));
  // Taken from a new copy, never from the template: a session on it would stop the next copy.
  if (postgresFingerprint === null) {
    postgresFingerprint = await withPostgres(name, (client) => fingerprint(serverConnection(client)));
  }
  return name;
}

function withPostgres<T>(name: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(postgresUrl(name)!, work);
}

/**
 * Empties a database a test is done with and keeps it for the next one. One that anything else is
 * still connected to (a process the test started, a pool it did not close) or whose catalog the
 * test changed is left as it is, so every test starts alone on the template's schema.
 */
async function givePostgresBack(name: string): Promise<void> {
  try {
    const reusable = await withPostgres(name, async (client) => {
      // The test's own pool has closed; its server processes end a moment later.
      for (let attempt = 0; ; attempt++) {
        const others = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        );
        if (others.rows[0]!.n === 0) break;
        if (attempt === 20) return false;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return emptied(serverConnection(client), postgresFingerprint);
    });
    if (reusable) idlePostgres.push(name);
  } catch {
    // not reusable: left on the server, which the run's end removes
  }
}

/** The kinds to run database tests against here: PGlite always, PostgreSQL where available. */
export function databaseKinds(): DatabaseKind[] {
  return inject("pgServerUrl") ? ["pglite", "postgres"] : ["pglite"];
}

/**
 * `describe` once per database kind. Where the PostgreSQL server is missing, its block is
 * reported as skipped with the reason in its name.
 */
export function describeEachDatabase(name: string, body: (kind: DatabaseKind) => void): void {
  describe(`${name} [pglite]`, () => body("pglite"));
  const unavailable = inject("pgUnavailable");
  if (unavailable) describe.skip(`${name} [postgres: skipped, ${unavailable}]`, () => body("postgres"));
  else describe(`${name} [postgres]`, () => body("postgres"));
}

/**
 * Gives `DATA_DIR` an embedded database that is a copy of the migrated template, where a
 * `retention` process with that `DATA_DIR` (and no `DATABASE_URL`) will open it, so a CLI test
 * need not run initdb and every migration in a child process first.
 */
export async function createMigratedDataDir(dataDir: string): Promise<void> {
  copyFolder(inject("pgliteTemplateFolder"), dataDir);
}

/** Gives `DATA_DIR` a new embedded database with no migration applied (initdb already run). */
export function createBlankDataDir(dataDir: string): void {
  copyFolder(inject("pgliteBlankFolder"), dataDir);
}

function copyFolder(folder: string, dataDir: string): void {
  const target = resolveDatabaseTarget(undefined, dataDir);
  if (target.kind !== "pglite" || !target.dataDir) throw new Error(`not an embedded database: ${dataDir}`);
  mkdirSync(path.dirname(target.dataDir), { recursive: true });
  cpSync(folder, target.dataDir, { recursive: true, errorOnExist: true, force: false });
}
