import { mkdirSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import copyStreams from "pg-copy-streams";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../../generated/prisma/client";
import { maskUrl } from "../config/config";

export type { PrismaClient } from "../../generated/prisma/client";
export { Prisma } from "../../generated/prisma/client";

/** Where the store lives: an embedded PGlite folder (or memory), or a PostgreSQL server. */
export type DatabaseTarget =
  | { kind: "pglite"; dataDir: string | null } // null: in memory (tests)
  | { kind: "postgres"; url: string };

export interface Database {
  prisma: PrismaClient;
  target: DatabaseTarget;
  /** Human-readable location, with any password masked. */
  describe(): string;
  /** Runs a multi-statement SQL script with the driver's simple-query protocol (migrations). */
  execScript(sql: string): Promise<void>;
  /**
   * Bulk-loads rows: `copySql` is `COPY table (columns) FROM STDIN [WITH (FORMAT binary)]`;
   * `chunks` are whole lines of text format, or the bytes of binary format (see copy-binary.ts).
   * A server streams them over one extra connection while they are produced; PGlite loads them
   * as one blob (`FROM '/dev/blob'`), so pass it bounded batches.
   */
  copyFrom(copySql: string, chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<void>;
  /**
   * Runs one read-only query straight through the driver (no ORM row conversion) for reads of
   * millions of rows; rows come back as the driver parses them (numbers, arrays, Dates).
   */
  queryRows<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Picks the database from `DATABASE_URL`: a postgres:// URL means a server, anything else PGlite. */
export function resolveDatabaseTarget(databaseUrl: string | undefined, dataDir: string): DatabaseTarget {
  if (databaseUrl && /^postgres(ql)?:\/\//i.test(databaseUrl)) return { kind: "postgres", url: databaseUrl };
  return { kind: "pglite", dataDir: path.resolve(dataDir, "pglite") };
}

/**
 * Opens the store. PGlite folders are created on first use; a server must exist already.
 * The client is not connected until its first query.
 */
export async function openDatabase(target: DatabaseTarget, options: { poolSize?: number } = {}): Promise<Database> {
  if (target.kind === "postgres") {
    const adapter = new PrismaPg({ connectionString: target.url, max: options.poolSize ?? 10 });
    const prisma = new PrismaClient({ adapter });
    let pool: pg.Pool | null = null;
    // Migrations and COPY each get a connection of their own, outside both pools.
    const withClient = async (work: (client: pg.Client) => Promise<unknown>) => {
      const client = new pg.Client({ connectionString: target.url });
      await client.connect();
      try {
        await work(client);
      } finally {
        await client.end();
      }
    };
    return {
      prisma,
      target,
      describe: () => `PostgreSQL ${maskUrl(target.url)}`,
      execScript: (sql) => withClient((client) => client.query(sql)),
      copyFrom: (copySql, chunks) =>
        withClient((client) => pipeline(Readable.from(chunks), client.query(copyStreams.from(copySql)))),
      queryRows: async <T>(sql: string, params: readonly unknown[] = []) => {
        // These reads are dozens of mid-sized aggregates (feature batches): compiling each with
        // LLVM (jit, on by default since PostgreSQL 12) took longer than it saved (measured on
        // 200,000 customers in four batches: 2.7 s with jit, 1.9 s without).
        pool ??= new pg.Pool({ connectionString: target.url, max: 2, options: "-c jit=off" });
        return (await pool.query(sql, params as unknown[])).rows as T[];
      },
      close: async () => {
        await pool?.end();
        await prisma.$disconnect();
      },
    };
  }
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  const pglite = newPGlite(target.dataDir ?? undefined);
  await pglite.waitReady;
  return wrapPGlite(pglite, target);
}

/**
 * A PGlite instance (in memory without `dataDir`) with PGlite's start parameters plus
 * `file_extend_method=write_zeros`. PostgreSQL 16+ grows a table by up to 64 pages at once with
 * posix_fallocate, which PGlite's in-memory file system runs as a truncate that copies the whole
 * file into a new buffer, so bulk writes slow down with the table's size (a 100,000-row score
 * write spent 0.55 s of its 1.9 s there). Written zeros grow the file geometrically instead.
 */
export function newPGlite(dataDir?: string, options: PGliteOptions = {}): PGlite {
  return new PGlite({
    ...options,
    ...(dataDir ? { dataDir } : {}),
    startParams: [...PGlite.defaultStartParams, "-c", "file_extend_method=write_zeros"],
  });
}

/** Wraps an already open PGlite instance (tests clone a migrated template this way). */
export function wrapPGlite(pglite: PGlite, target: DatabaseTarget = { kind: "pglite", dataDir: null }): Database {
  // pglite-prisma-adapter declares an older @prisma/driver-adapter-utils; the runtime contract
  // is the same (tests run every query through it), only the type identities differ.
  const adapter = new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory;
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    target,
    describe: () => (target.kind === "pglite" && target.dataDir ? `PGlite ${target.dataDir}` : "PGlite (in memory)"),
    execScript: async (sql) => {
      await pglite.exec(sql);
    },
    copyFrom: async (copySql, chunks) => {
      const parts: (string | Uint8Array)[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      await pglite.query(copySql.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'"), [], { blob: new Blob(parts) });
    },
    queryRows: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await pglite.query<T>(sql, params as unknown[])).rows,
    close: async () => {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
    },
  };
}
