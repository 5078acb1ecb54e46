// Serves one PGlite instance to other processes over the PostgreSQL wire protocol, safely.
//
// PGlite is a single PostgreSQL session. Several clients can share it only if no client's
// statements ever run inside another client's transaction or extended-protocol exchange, so the
// session is a lock: a client takes it with its first message and keeps it until a reply ends
// with ReadyForQuery "idle" (its Sync or simple query finished outside any transaction block).
// The owner process's own queries take the same lock (see `lockedPGlite`). A client that vanishes
// while holding the lock (SIGKILL) has its exchange closed and its transaction rolled back; one
// that holds a transaction idle for too long is disconnected, so it cannot freeze the others.
//
// pglite-socket (0.2.x) was considered: its query queue keeps a transaction to one client, but it
// hands the session to another client between the Parse, Bind and Execute messages of an
// extended-protocol query (what pg and Prisma send), so two clients' statements can interleave.
// COPY FROM STDIN is not run by PGlite over the protocol; it is loaded through PGlite's
// /dev/blob here, so clients can bulk-load as they would on a server.
import net from "node:net";
import { Mutex, type PGlite } from "@electric-sql/pglite";
import {
  commandComplete,
  copyInResponse,
  errorResponse,
  lastReadyStatus,
  queryMessage,
  querySql,
  readFrames,
  readyForQuery,
  SYNC_MESSAGE,
  type ClientFrame,
} from "./pg-wire";

/** The one lock on an embedded PGlite session, shared by in-process callers and socket clients. */
export class SessionLock {
  readonly #mutex = new Mutex();

  /**
   * Runs `work` holding the session. Waits at most `waitMs`, then throws, naming the likely cause:
   * in this process, a transaction that waits on a query made outside it.
   */
  async run<T>(work: () => Promise<T>, waitMs = 120_000): Promise<T> {
    const release = await this.acquire(waitMs);
    try {
      return await work();
    } finally {
      release();
    }
  }

  async acquire(waitMs = Number.POSITIVE_INFINITY): Promise<() => void> {
    const acquiring = this.#mutex.acquire();
    if (!Number.isFinite(waitMs)) return acquiring;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `waited ${Math.round(waitMs / 1000)} s for the embedded database session: another client holds a ` +
                "transaction open (or code inside a transaction queries outside it)",
            ),
          ),
        waitMs,
      );
    });
    try {
      return await Promise.race([acquiring, timeout]);
    } catch (error) {
      // Give the session back as soon as the abandoned acquire gets it.
      void acquiring.then((release) => release());
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The subset of PGlite that pglite-prisma-adapter and our `Database` wrapper call, with every call
 * taking the session lock. A transaction holds the lock from BEGIN to COMMIT/ROLLBACK.
 */
export function lockedPGlite(pglite: PGlite, lock: SessionLock): PGlite {
  return new Proxy(pglite, {
    get(target, property, receiver) {
      if (property === "query" || property === "exec" || property === "transaction" || property === "sql") {
        const original = Reflect.get(target, property, receiver) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => lock.run(() => original.apply(target, args));
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export interface EmbeddedServerOptions {
  /** A client holding a transaction that sends nothing for this long is disconnected (default 60 s). */
  idleInTransactionMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Serves `pglite` (once open) on `server` (already listening or about to). Returns a function
 * that stops taking connections and ends the open sessions: it waits up to `graceMs` for clients
 * to finish and disconnect, then closes the rest (rolling back what they hold). The caller closes
 * PGlite after that and only then the server, because the listening socket is the folder's lock.
 */
export function serveEmbedded(
  server: net.Server,
  pglite: Promise<PGlite>,
  lock: SessionLock,
  options: EmbeddedServerOptions = {},
): (graceMs?: number) => Promise<void> {
  const sessions = new Set<WireSession>();
  let closing = false;
  // Connections may arrive while the folder is still opening: they wait for it.
  pglite.catch(() => undefined);
  server.on("connection", (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const session = new WireSession(socket, pglite, lock, options);
    sessions.add(session);
    socket.once("close", () => sessions.delete(session));
  });
  return async (graceMs = 0) => {
    closing = true;
    const deadline = Date.now() + graceMs;
    while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...sessions].map((s) => s.close()));
  };
}

const COPY_FROM_STDIN = /^\s*COPY\b[\s\S]*\bFROM\s+STDIN\b/i;

/** One client connection: frames in, PGlite replies out, holding the session lock as described above. */
class WireSession {
  #buffer = Buffer.alloc(0);
  #startup = true;
  #release: (() => void) | null = null;
  #chain: Promise<void> = Promise.resolve();
  #copy: { sql: string; chunks: Uint8Array[] } | null = null;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  // Set once the folder is open; every handler runs after that on the chain.
  private pglite!: PGlite;

  constructor(
    private readonly socket: net.Socket,
    opening: Promise<PGlite>,
    private readonly lock: SessionLock,
    private readonly options: EmbeddedServerOptions,
  ) {
    this.#enqueue(async () => {
      this.pglite = await opening;
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("error", () => socket.destroy());
    socket.once("close", () => {
      this.#closed = true;
      this.#enqueue(() => this.#endSession());
    });
  }

  /** Ends the session from the server side (shutdown): rolls back what it holds. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.#chain;
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : Buffer.from(chunk);
    let frames: ClientFrame[];
    try {
      const read = readFrames(this.#buffer, this.#startup);
      frames = read.frames;
      this.#buffer = Buffer.from(read.rest);
      this.#startup = read.startup;
    } catch (error) {
      this.options.onError?.(error);
      this.socket.destroy();
      return;
    }
    if (frames.length === 0) return;
    if (this.#release) clearTimeout(this.#idleTimer);
    this.#enqueue(() => this.#handle(frames));
  }

  #enqueue(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((error: unknown) => {
      this.options.onError?.(error);
      this.socket.destroy();
    });
  }

  #write(bytes: Uint8Array): void {
    if (bytes.length > 0 && !this.socket.destroyed) this.socket.write(bytes);
  }

  async #hold(): Promise<void> {
    this.#release ??= await this.lock.acquire();
  }

  #letGo(): void {
    clearTimeout(this.#idleTimer);
    this.#release?.();
    this.#release = null;
  }

  async #handle(frames: ClientFrame[]): Promise<void> {
    // Consecutive protocol messages go to PGlite in one call (as PGlite's own query() does),
    // except the ones handled here: COPY data, a COPY FROM STDIN query, and Terminate.
    let batch: Uint8Array[] = [];
    let lastType = "";
    const flush = async () => {
      if (batch.length === 0) return;
      const bytes = batch.length === 1 ? batch[0]! : Buffer.concat(batch);
      batch = [];
      await this.#hold();
      const reply = await this.pglite.execProtocolRaw(bytes, { syncToFs: false });
      this.#write(reply);
      if ((lastType === "S" || lastType === "Q") && lastReadyStatus(reply) === "I") this.#letGo();
    };
    for (const frame of frames) {
      if (this.#closed) return;
      if (frame.kind === "ssl" || frame.kind === "gssenc") {
        this.#write(Buffer.from("N"));
        continue;
      }
      if (frame.kind === "cancel") {
        this.socket.destroy();
        return;
      }
      if (frame.kind === "startup") {
        await this.#hold();
        try {
          this.#write(await this.pglite.execProtocolRaw(frame.bytes, { syncToFs: false }));
        } finally {
          this.#letGo();
        }
        continue;
      }
      if (this.#copy) {
        await flush();
        await this.#copyMessage(frame.type, frame.bytes);
        continue;
      }
      if (frame.type === "X") {
        await flush();
        this.socket.end();
        return;
      }
      if (frame.type === "Q" && COPY_FROM_STDIN.test(querySql(frame.bytes))) {
        await flush();
        await this.#hold();
        const sql = querySql(frame.bytes);
        this.#copy = { sql, chunks: [] };
        this.#write(copyInResponse(/\bbinary\b/i.test(sql)));
        continue;
      }
      batch.push(frame.bytes);
      lastType = frame.type;
    }
    await flush();
    if (this.#release) this.#armIdleTimer();
  }

  async #copyMessage(type: string, bytes: Uint8Array): Promise<void> {
    const copy = this.#copy!;
    if (type === "d") {
      copy.chunks.push(bytes.subarray(5));
      return;
    }
    if (type !== "c" && type !== "f") return; // Flush / Sync during COPY are ignored, as by PostgreSQL
    this.#copy = null;
    let failed = false;
    if (type === "f") {
      failed = true;
      this.#write(errorResponse({ code: "57014", message: "COPY from stdin failed: the client aborted it" }));
    } else {
      try {
        const sql = copy.sql.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'");
        const result = await this.pglite.query(sql, [], { blob: new Blob(copy.chunks) });
        this.#write(commandComplete(`COPY ${result.affectedRows ?? 0}`));
      } catch (error) {
        failed = true;
        const e = error as { code?: string; message?: string; detail?: string; hint?: string };
        this.#write(
          errorResponse({ code: e.code, message: e.message ?? String(error), detail: e.detail, hint: e.hint }),
        );
      }
    }
    const inBlock = this.pglite.isInTransaction();
    this.#write(readyForQuery(inBlock ? (failed ? "E" : "T") : "I"));
    if (!inBlock) this.#letGo();
  }

  #armIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    const ms = this.options.idleInTransactionMs ?? 60_000;
    this.#idleTimer = setTimeout(() => {
      this.#write(
        errorResponse({
          severity: "FATAL",
          code: "25P03",
          message: `terminating connection: idle in a transaction for more than ${Math.round(ms / 1000)} s`,
        }),
      );
      this.socket.destroy();
    }, ms);
    this.#idleTimer.unref();
  }

  /** The client is gone: end any unfinished exchange, roll back its transaction, free the session. */
  async #endSession(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#copy = null;
    if (!this.#release) return;
    try {
      await this.pglite.execProtocolRaw(SYNC_MESSAGE, { syncToFs: false });
      if (this.pglite.isInTransaction()) await this.pglite.execProtocolRaw(queryMessage("ROLLBACK"));
    } finally {
      this.#letGo();
    }
  }
}
