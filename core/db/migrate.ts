import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { Database } from "./client";

/** The checked-in migrations, oldest first. */
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "../../prisma/migrations");

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied migrations whose file changed since, or that are not in the folder any more. */
  drifted: string[];
}

/** Reads `prisma/migrations/<name>/migration.sql` in name order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

// The same bookkeeping table `prisma migrate deploy` keeps, so `prisma migrate status` agrees
// with what this runner applied (and the other way round).
const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);`;

async function appliedRows(db: Database): Promise<{ migration_name: string; checksum: string }[]> {
  const exists = await db.prisma.$queryRaw<
    { t: string | null }[]
  >`SELECT to_regclass('public._prisma_migrations')::text AS t`;
  if (!exists[0]?.t) return [];
  return db.prisma.$queryRaw`SELECT migration_name, checksum FROM "_prisma_migrations"
    WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`;
}

/** Compares the database with the migrations folder. Does not change anything. */
export async function migrationStatus(db: Database, migrations = readMigrations()): Promise<MigrationStatus> {
  const rows = await appliedRows(db);
  const byName = new Map(rows.map((r) => [r.migration_name, r.checksum]));
  const known = new Set(migrations.map((m) => m.name));
  return {
    applied: rows.map((r) => r.migration_name),
    pending: migrations.filter((m) => !byName.has(m.name)).map((m) => m.name),
    drifted: [
      ...migrations.filter((m) => byName.has(m.name) && byName.get(m.name) !== m.checksum).map((m) => m.name),
      ...rows.filter((r) => !known.has(r.migration_name)).map((r) => r.migration_name),
    ],
  };
}

// Any fixed key: every migrating process takes it, so two never apply migrations at once.
const MIGRATION_LOCK_KEY = 727_274_001;
const ALREADY_APPLIED = "retention: migration already applied";

/**
 * Applies every pending migration, each in one script on one connection: it takes the migration
 * advisory lock, checks the migration is still pending (another process may have applied it
 * while this one waited), runs it and records it in `_prisma_migrations`, all in one
 * transaction. A failing migration is rolled back with everything it did and the error thrown;
 * those before it stay applied.
 */
export async function applyMigrations(
  db: Database,
  options: { migrations?: Migration[]; onApplied?: (name: string) => void } = {},
): Promise<string[]> {
  const migrations = options.migrations ?? readMigrations();
  await db.execScript(
    `SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY});${BOOKKEEPING}SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY});`,
  );
  const status = await migrationStatus(db, migrations);
  const done: string[] = [];
  for (const m of migrations.filter((x) => status.pending.includes(x.name))) {
    const id = randomUUID();
    const name = m.name.replace(/'/g, "''");
    try {
      await db.execScript(
        `BEGIN;
SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});
DO $check$ BEGIN
  IF EXISTS (SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '${name}' AND finished_at IS NOT NULL AND rolled_back_at IS NULL)
  THEN RAISE EXCEPTION '${ALREADY_APPLIED}';
  END IF;
END $check$;
${m.sql}
;
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
VALUES ('${id}', '${m.checksum}', now(), '${name}', now(), 1);
COMMIT;`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes(ALREADY_APPLIED)) continue;
      throw new Error(`migration ${m.name} failed: ${message}`);
    }
    done.push(m.name);
    options.onApplied?.(m.name);
  }
  return done;
}

/** Thrown when a process starts against a database that lacks migrations. */
export class UnmigratedDatabaseError extends Error {
  constructor(
    readonly status: MigrationStatus,
    where: string,
  ) {
    super(
      `The database (${where}) is not up to date: ${status.pending.length} migration(s) pending` +
        (status.drifted.length
          ? `, ${status.drifted.length} changed since applied (${status.drifted.join(", ")})`
          : "") +
        `. Run: npm run db:migrate   (or: retention db migrate)`,
    );
    this.name = "UnmigratedDatabaseError";
  }
}

/** Refuses to go on when migrations are pending: processes call this at start-up. */
export async function assertMigrated(db: Database): Promise<void> {
  const status = await migrationStatus(db);
  if (status.pending.length || status.drifted.length) throw new UnmigratedDatabaseError(status, db.describe());
}
