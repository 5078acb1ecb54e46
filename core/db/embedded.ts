// One embedded database folder, many processes. The first process to open a PGlite folder owns
// it: it holds a lock the kernel releases when the process dies (even on SIGKILL) and serves the
// folder over the PostgreSQL protocol on that same local socket. Every other process finds the
// socket taken and connects to the owner like to a server, so there are never two PGlite engines
// on one folder and every process sees every committed write at once.
//
// On Linux the lock and the socket are one abstract Unix socket named after the folder's real
// path (no file to go stale). Elsewhere a socket file in the temporary directory plays that
// role, with a stale file (no one answering) removed before it is taken.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** Who holds an embedded folder, as written beside it by the owner (for messages only). */
export interface EmbeddedOwner {
  pid: number;
  command: string;
  startedAt: string;
}

/** A problem with the embedded folder the operator must act on; the message says what to do. */
export class EmbeddedDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedDatabaseError";
  }
}

/** The local socket the owner of `dataDir` listens on. */
export function embeddedSocketPath(dataDir: string, platform = process.platform): string {
  const hash = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 24);
  return platform === "linux" ? `\0retention-pglite-${hash}` : path.join(os.tmpdir(), `retention-pglite-${hash}.sock`);
}

function ownerFile(dataDir: string): string {
  return `${path.resolve(dataDir)}.owner.json`;
}

/** Reads the owner note of `dataDir`, or null when there is none (or it cannot be read). */
export function readEmbeddedOwner(dataDir: string): EmbeddedOwner | null {
  try {
    return JSON.parse(readFileSync(ownerFile(dataDir), "utf8")) as EmbeddedOwner;
  } catch {
    return null;
  }
}

export function describeOwner(owner: EmbeddedOwner | null): string {
  return owner ? `process ${owner.pid} (${owner.command}, since ${owner.startedAt})` : "another process";
}

export function writeEmbeddedOwner(dataDir: string, owner: EmbeddedOwner): void {
  const file = ownerFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
  renameSync(tmp, file);
}

export function removeEmbeddedOwner(dataDir: string): void {
  const owner = readEmbeddedOwner(dataDir);
  if (owner?.pid === process.pid) rmSync(ownerFile(dataDir), { force: true });
}

/**
 * Tries to take the folder: listens on its socket. Returns the listening server, or null when
 * another live process holds it.
 */
export async function tryTakeEmbedded(dataDir: string): Promise<net.Server | null> {
  const socketPath = embeddedSocketPath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    const server = net.createServer();
    const taken = await new Promise<boolean>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "EADDRINUSE") resolve(false);
        else reject(error);
      });
      server.listen(socketPath, () => resolve(true));
    });
    if (taken) return server;
    if (socketPath.startsWith("\0")) return null;
    // A socket file: taken by a live owner, or left by a dead one.
    if (await answers(socketPath)) return null;
    rmSync(socketPath, { force: true });
  }
  return null;
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Checks that `dataDir` is either absent, empty, or a database, so that opening it never builds a
 * new database over something else.
 * @throws EmbeddedDatabaseError when the folder holds files but no database.
 */
export function checkEmbeddedFolder(dataDir: string): "new" | "existing" {
  if (!existsSync(dataDir)) {
    mkdirSync(dataDir, { recursive: true });
    return "new";
  }
  if (existsSync(path.join(dataDir, "PG_VERSION"))) return "existing";
  const entries = readdirSync(dataDir);
  if (entries.length === 0) return "new";
  throw new EmbeddedDatabaseError(
    `${dataDir} holds files but no embedded database (no PG_VERSION). Nothing was changed. ` +
      "Point DATA_DIR at another folder, or move this one aside if you want a new database here.",
  );
}

/** The message for a folder that exists but would not open. */
export function openFailedMessage(dataDir: string, cause: unknown): string {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return (
    `The embedded database in ${dataDir} could not be opened (${reason}). It was not changed and not re-created. ` +
    "It may have been damaged (for example by two programs writing to it at once, or a full disk). To recover: stop " +
    `every retention process, move the folder aside (mv ${dataDir} ${dataDir}.damaged), then restore a copy ` +
    "or import your data again into a new one; or set DATABASE_URL to use a PostgreSQL server."
  );
}

/** A net.Socket that connects to the owner's socket whatever host and port pg asks for. */
export function ownerSocketFactory(socketPath: string): () => net.Socket {
  class OwnerSocket extends net.Socket {
    override connect(...args: unknown[]): this {
      void args;
      return super.connect({ path: socketPath });
    }
  }
  return () => new OwnerSocket();
}
