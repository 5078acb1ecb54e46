// Fresh, migrated databases for tests: each call gets its own, so tests never share rows.
// PGlite: a new instance loaded from the migrated data folder the global setup dumped once per
// run. PostgreSQL: a new database created from the migrated template on the server the global
// setup started.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { describe, inject } from "vitest";
import { newPGlite, openDatabase, resolveDatabaseTarget, wrapPGlite, type Database } from "../../core/db/client";

export type DatabaseKind = "pglite" | "postgres";

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

/** The server URL for a database name, or null where the PostgreSQL tests are skipped. */
export function postgresUrl(database: string): string | null {
  const base = inject("pgServerUrl");
  return base ? base + database : null;
}

/** A new, empty, migrated database of the given kind. Close it when done. */
export async function createTestDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === "pglite") {
    const clone = newPGlite(undefined, { loadDataDir: pgliteTemplate() });
    await clone.waitReady;
    return wrapPGlite(clone);
  }
  const adminUrl = postgresUrl("postgres");
  if (!adminUrl) throw new Error(`PostgreSQL unavailable: ${inject("pgUnavailable")}`);
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = await openDatabase({ kind: "postgres", url: adminUrl }, { poolSize: 1 });
  try {
    await admin.prisma.$executeRawUnsafe(`CREATE DATABASE ${name} TEMPLATE retention_template`);
  } finally {
    await admin.close();
  }
  return openDatabase({ kind: "postgres", url: postgresUrl(name)! });
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
  const target = resolveDatabaseTarget(undefined, dataDir);
  if (target.kind !== "pglite" || !target.dataDir) throw new Error(`not an embedded database: ${dataDir}`);
  mkdirSync(target.dataDir, { recursive: true });
  const pglite = newPGlite(target.dataDir, { loadDataDir: pgliteTemplate() });
  await pglite.waitReady;
  await pglite.close();
}
