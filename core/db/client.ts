import type net from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PGlite, type PGliteOptions, type Transaction } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import copyStreams from "pg-copy-streams";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../../generated/prisma/client";
import { maskUrl, PGLITE_BUFFERS } from "../config/config";
import { blankCluster } from "./blank-cluster.mjs";
import {
  checkEmbeddedFolder,
  describeOwner,
  EmbeddedDatabaseError,
  embeddedSocketPath,
  openFailedMessage,
  ownerSocketFactory,
  readEmbeddedOwner,
  removeEmbeddedOwner,
  tryTakeEmbedded,
  writeEmbeddedOwner,
  type EmbeddedOwner,
} from "./embedded";
import { lockedPGlite, serveEmbedded, SessionLock } from "./embedded-server";

export { EmbeddedDatabaseError } from "./embedded";

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
  /**
   * Runs a multi-statement SQL script with the driver's simple-query protocol (migrations), on
   * one connection. A script that fails leaves no transaction open behind it.
   */
  execScript(sql: string): Promise<void>;
  /**
   * Bulk-loads rows: `copySql` is `COPY table (columns) FROM STDIN [WITH (FORMAT binary)]`;
   * `chunks` are whole lines of text format, or the bytes of binary format (see copy-binary.ts).
   * A server streams them over one extra connection while they are produced; PGlite loads them
   * as one blob (`FROM '/dev/blob'`), so pass it bounded batches.
   */
  copyFrom(copySql: string, chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<void>;
  /**
   * Runs one statement straight through the driver (no ORM row conversion) for reads of millions
   * of rows, and for small statements made so often that the ORM's cost per call dominates (the
   * bot's read and finish of each update); rows come back as the driver parses them (numbers,
   * arrays, Dates; a server's bigint as a string, and a timestamp without time zone in local time).
   * Parameters have no types of their own: cast each one in the SQL.
   */
  queryRows<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Runs `work` on one session of its own, for work that keeps state between statements
   * (temporary tables, COPY into them, then transactions reading them). A server gives it a
   * connection of its own, closed after (its temporary tables go with it). PGlite is one session
   * shared by every client: name temporary tables uniquely and drop them.
   */
  withSession<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One database session: statements run in order on it; see {@link Database.withSession}. */
export interface DatabaseSession {
  /** One statement (parameters as $1, $2...); rows as the driver parses them. */
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** As {@link Database.copyFrom}, on this session (inside its transaction, if one is open). */
  copyFrom(copySql: string, chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<void>;
  /**
   * Runs `work` in a transaction on this session: committed when it returns, rolled back when it
   * throws. Use only the session it is given meanwhile (PGlite: others wait for the commit).
   */
  transaction<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T>;
}

/** Picks the database from `DATABASE_URL`: a postgres:// URL means a server, anything else PGlite. */
export function resolveDatabaseTarget(databaseUrl: string | undefined, dataDir: string): DatabaseTarget {
  if (databaseUrl && /^postgres(ql)?:\/\//i.test(databaseUrl)) return { kind: "postgres", url: databaseUrl };
  return { kind: "pglite", dataDir: path.resolve(dataDir, "pglite") };
}

export interface OpenDatabaseOptions {
  poolSize?: number;
  /** How this process is named to others in messages about the embedded folder (e.g. "retention start"). */
  command?: string;
  /**
   * For the long-running process: when a short command holds the embedded folder, wait for it
   * to finish and then own the folder, instead of connecting through it. Another
   * `retention start` holding it is an error at once.
   */
  waitForOwner?: boolean;
  /** Called while waiting for the folder, about every 10 s, with the holder's description. */
  onWait?: (holder: string) => void;
  /** The embedded engine's buffer cache, when this process starts one (`PGLITE_SHARED_BUFFERS`). */
  sharedBuffers?: string;
}

/**
 * Opens the store. A server must exist already. A PGlite folder is created on first use; if
 * another process has it open, this process connects through that process (see embedded.ts).
 * The client is not connected until its first query.
 * @throws EmbeddedDatabaseError when the folder cannot be opened or reached; the message says why and what to do.
 */
export async function openDatabase(target: DatabaseTarget, options: OpenDatabaseOptions = {}): Promise<Database> {
  if (target.kind === "postgres") {
    return serverDatabase(target, () => `PostgreSQL ${maskUrl(target.url)}`, target.url, {}, options.poolSize);
  }
  if (!target.dataDir) {
    const pglite = newPGlite(undefined, { sharedBuffers: options.sharedBuffers, loadDataDir: blankCluster() });
    await pglite.waitReady;
    return wrapPGlite(pglite, target);
  }
  return openEmbeddedFolder(target.dataDir, target, options);
}

/** A database reached over the PostgreSQL protocol: a server, or the owner of an embedded folder. */
function serverDatabase(
  target: DatabaseTarget,
  describe: () => string,
  url: string,
  extra: pg.ClientConfig,
  poolSize = 10,
): Database {
  const adapter = new PrismaPg({ connectionString: url, max: poolSize, ...extra });
  const prisma = new PrismaClient({ adapter });
  let pool: pg.Pool | null = null;
  // Migrations and COPY each get a connection of their own, outside both pools.
  const withClient = async (work: (client: pg.Client) => Promise<unknown>) => {
    const client = new pg.Client({ connectionString: url, ...extra });
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
    describe,
    execScript: (sql) => withClient((client) => client.query(sql)),
    copyFrom: (copySql, chunks) =>
      withClient((client) => pipeline(Readable.from(chunks), client.query(copyStreams.from(copySql)))),
    withSession: async <T>(work: (session: DatabaseSession) => Promise<T>) => {
      const client = new pg.Client({ connectionString: url, ...extra });
      await client.connect();
      try {
        return await work(clientSession(client));
      } finally {
        await client.end();
      }
    },
    queryRows: async <T>(sql: string, params: readonly unknown[] = []) => {
      // These reads are dozens of mid-sized aggregates (feature batches): compiling each with
      // LLVM (jit, on by default since PostgreSQL 12) took longer than it saved (measured on
      // 200,000 customers in four batches: 2.7 s with jit, 1.9 s without).
      // As many connections as the ORM's pool: the bot reads each update's chat snapshot here, and
      // those reads must not queue behind two long feature batches (which keep two in flight).
      pool ??= new pg.Pool({ connectionString: url, max: Math.max(2, poolSize), options: "-c jit=off", ...extra });
      return (await pool.query(sql, params as unknown[])).rows as T[];
    },
    close: async () => {
      await pool?.end();
      await prisma.$disconnect();
    },
  };
}

function clientSession(client: pg.Client): DatabaseSession {
  const session: DatabaseSession = {
    query: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await client.query(sql, params as unknown[])).rows as T[],
    copyFrom: (copySql, chunks) => pipeline(Readable.from(chunks), client.query(copyStreams.from(copySql))),
    transaction: async <T>(work: (session: DatabaseSession) => Promise<T>) => {
      await client.query("BEGIN");
      try {
        const result = await work(session);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    },
  };
  return session;
}

async function openEmbeddedFolder(
  dataDir: string,
  target: DatabaseTarget,
  options: OpenDatabaseOptions,
): Promise<Database> {
  const command = options.command ?? "retention";
  let waitingSince = 0;
  for (;;) {
    const server = await tryTakeEmbedded(dataDir);
    if (server) return ownEmbeddedFolder(server, dataDir, target, command, options.sharedBuffers);
    const owner = readEmbeddedOwner(dataDir);
    if (options.waitForOwner) {
      if (owner?.command === command)
        throw new EmbeddedDatabaseError(
          `${dataDir} is already served by ${describeOwner(owner)}. Stop it first, or give this one another DATA_DIR.`,
        );
      if (Date.now() - waitingSince >= 10_000) {
        options.onWait?.(describeOwner(owner));
        waitingSince = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    return connectToOwner(dataDir, target, owner, options.poolSize);
  }
}

/** How long an owner that is done waits for other processes still working through it. */
const CLIENT_GRACE_MS = 60_000;

async function ownEmbeddedFolder(
  server: net.Server,
  dataDir: string,
  target: DatabaseTarget,
  command: string,
  sharedBuffers: string | undefined,
): Promise<Database> {
  const lock = new SessionLock();
  let opening: Promise<PGlite>;
  try {
    const state = checkEmbeddedFolder(dataDir);
    writeEmbeddedOwner(dataDir, { pid: process.pid, command, startedAt: new Date().toISOString() });
    opening = (async () => {
      const pglite = newPGlite(dataDir, { sharedBuffers, loadDataDir: state === "new" ? blankCluster() : undefined });
      try {
        await pglite.waitReady;
      } catch (error) {
        throw new EmbeddedDatabaseError(openFailedMessage(dataDir, error));
      }
      return pglite;
    })();
  } catch (error) {
    server.close();
    throw error;
  }
  const closeSessions = serveEmbedded(server, opening, lock);
  let pglite: PGlite;
  try {
    pglite = await opening;
  } catch (error) {
    server.close();
    await closeSessions();
    removeEmbeddedOwner(dataDir);
    throw error;
  }
  const db = wrapPGlite(pglite, target, lock);
  return {
    ...db,
    close: async () => {
      // Other processes' commands get to finish first; the lock (the listening socket) goes last,
      // so no process can open the folder while this engine still has it open.
      await closeSessions(CLIENT_GRACE_MS);
      await db.close();
      removeEmbeddedOwner(dataDir);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function connectToOwner(
  dataDir: string,
  target: DatabaseTarget,
  owner: EmbeddedOwner | null,
  poolSize?: number,
): Promise<Database> {
  const extra: pg.ClientConfig = {
    stream: ownerSocketFactory(embeddedSocketPath(dataDir)),
    connectionTimeoutMillis: 60_000,
  };
  const url = "postgres://postgres@localhost/postgres";
  const db = serverDatabase(target, () => `PGlite ${dataDir} (through ${describeOwner(owner)})`, url, extra, poolSize);
  try {
    await db.queryRows("SELECT 1");
  } catch (error) {
    await db.close().catch(() => undefined);
    throw new EmbeddedDatabaseError(
      `${dataDir} is held by ${describeOwner(owner)}, which did not answer (${error instanceof Error ? error.message : String(error)}). ` +
        "Wait for it to finish or stop it, then run this again.",
    );
  }
  return db;
}

/**
 * A PGlite instance (in memory without `dataDir`) with PGlite's start parameters plus
 * `file_extend_method=write_zeros`. PostgreSQL 16+ grows a table by up to 64 pages at once with
 * posix_fallocate, which PGlite's in-memory file system runs as a truncate that copies the whole
 * file into a new buffer, so bulk writes slow down with the table's size (a 100,000-row score
 * write spent 0.55 s of its 1.9 s there). Written zeros grow the file geometrically instead.
 * And `wal_init_zero=off`: each new 16 MB WAL segment is created by writing its last byte rather
 * than 16 MB of zeros in 8 kB steps, which the in-memory file system grew (and copied) an eighth
 * at a time, about 100 MB of copying per segment (a 100,000-row COPY into a two-index table:
 * 1.3-1.8 s of CPU before, 1.0-1.2 s after).
 */
export function newPGlite(
  dataDir?: string,
  { sharedBuffers, ...options }: PGliteOptions & { sharedBuffers?: string } = {},
): PGlite {
  if (sharedBuffers !== undefined && !PGLITE_BUFFERS.test(sharedBuffers))
    throw new RangeError(`shared buffers: "${sharedBuffers}" is not a size such as 128MB or 16MB`);
  return new PGlite({
    ...options,
    ...(dataDir ? { dataDir } : {}),
    startParams: [
      ...PGlite.defaultStartParams,
      ...["-c", "file_extend_method=write_zeros", "-c", "wal_init_zero=off"],
      // The buffer cache: zeroed at every start (about 0.5 s of CPU for PGlite's 128MB).
      ...["-c", `shared_buffers=${sharedBuffers ?? "128MB"}`],
    ],
  });
}

/** Wraps an already open PGlite instance (tests clone a migrated template this way). */
export function wrapPGlite(
  raw: PGlite,
  target: DatabaseTarget = { kind: "pglite", dataDir: null },
  lock: SessionLock = new SessionLock(),
): Database {
  // Every use of the session takes its lock: Prisma's transactions, our own scripts and bulk
  // loads, and (for an owned folder) other processes' connections.
  const pglite = lockedPGlite(raw, lock);
  // pglite-prisma-adapter declares an older @prisma/driver-adapter-utils; the runtime contract
  // is the same (tests run every query through it), only the type identities differ.
  const adapter = new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory;
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    target,
    describe: () => (target.kind === "pglite" && target.dataDir ? `PGlite ${target.dataDir}` : "PGlite (in memory)"),
    execScript: (sql) =>
      lock.run(async () => {
        try {
          await raw.exec(sql);
        } catch (error) {
          // The session is shared: a script that failed inside BEGIN must not leave it aborted.
          if (raw.isInTransaction()) await raw.exec("ROLLBACK");
          throw error;
        }
      }),
    copyFrom: (copySql, chunks) => copyIntoPGlite(pglite, copySql, chunks),
    queryRows: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await pglite.query<T>(sql, params as unknown[])).rows,
    withSession: (work) => work(pgliteSession(pglite)),
    close: async () => {
      await prisma.$disconnect();
      if (!raw.closed) await raw.close();
    },
  };
}

async function copyIntoPGlite(
  into: Pick<PGlite, "query"> | Transaction,
  copySql: string,
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): Promise<void> {
  const parts: (string | Uint8Array)[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  await into.query(copySql.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'"), [], { blob: new Blob(parts) });
}

// PGlite's statements take the session lock one at a time (`pglite` is the locked proxy); its
// transaction holds the lock until it ends, and runs on the transaction object it hands over.
function pgliteSession(pglite: PGlite): DatabaseSession {
  const inTransaction = (tx: Transaction): DatabaseSession => ({
    query: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await tx.query<T>(sql, params as unknown[])).rows,
    copyFrom: (copySql, chunks) => copyIntoPGlite(tx, copySql, chunks),
    transaction: () => Promise.reject(new Error("a transaction is already open on this session")),
  });
  return {
    query: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await pglite.query<T>(sql, params as unknown[])).rows,
    copyFrom: (copySql, chunks) => copyIntoPGlite(pglite, copySql, chunks),
    transaction: (work) => pglite.transaction((tx) => work(inTransaction(tx))),
  };
}
