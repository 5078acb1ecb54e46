// Starts a throw-away PostgreSQL 15 cluster on a free loopback port for the test run.
// Used by vitest's global setup and by benchmarks. Skips (returns null) where the server
// binaries are missing, so `npm test` still passes on a machine without them.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PostgresServer {
  url: (database?: string) => string;
  port: number;
  stop: () => void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Runs `work` on a plain client of the database at `url` (no pool, no ORM), and ends it. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Why the server can't be started here, or null when it can. */
export function postgresUnavailableReason(): string | null {
  if (!existsSync(path.join(PG_BIN, "initdb"))) return `PostgreSQL server binaries not found in ${PG_BIN} (set PG_BIN)`;
  return null;
}

export async function startPostgres(): Promise<PostgresServer> {
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(reason);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "retention-pg-"));
  chmodSync(dir, 0o777);
  const dataDir = path.join(dir, "data");
  const port = await freePort();
  // As root, PostgreSQL refuses to run: run its tools as the postgres user.
  const command = (cmd: string, args: string[]): [string, string[]] =>
    asRoot
      ? ["su", ["postgres", "-s", "/bin/sh", "-c", [path.join(PG_BIN, cmd), ...args].map(shellQuote).join(" ")]]
      : [path.join(PG_BIN, cmd), args];
  const run = (cmd: string, args: string[]) => {
    const result = spawnSync(...command(cmd, args), { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr || result.stdout}`);
  };
  // initdb and the start without blocking this thread: the global setup builds PGlite's
  // template meanwhile.
  const runAside = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(...command(cmd, args), { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
      child.once("error", reject);
      child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${output}`))));
    });
  // --no-sync: a throwaway cluster (the server runs with fsync off too); initdb 0.84-0.88 s -> 0.67-0.71 s.
  await runAside("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
  await runAside("pg_ctl", [
    "-D",
    dataDir,
    "-l",
    path.join(dir, "server.log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB`,
    "start",
  ]);
  return {
    port,
    url: (database = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop: () => {
      try {
        run("pg_ctl", ["-D", dataDir, "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
