// One embedded folder, several processes: the first to open it owns it and serves it; the others
// reach it through the owner. Never two engines on one folder.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedDatabaseError, openDatabase, type Database } from "./client";
import { readEmbeddedOwner } from "./embedded";
import { createMigratedDataDir, TEST_SHARED_BUFFERS } from "../../test/helpers/db";

const CHILD = path.resolve(import.meta.dirname, "../../test/fixtures/embedded-child.ts");
const open: Database[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const db of open.splice(0).reverse()) await db.close().catch(() => undefined);
});

function tempFolder(): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), "embedded-")), "pglite");
}

/** A database folder copied from the suite's migrated template (initdb costs seconds of CPU). */
async function databaseFolder(): Promise<string> {
  const dir = tempFolder();
  await createMigratedDataDir(path.dirname(dir));
  return dir;
}

async function openFolder(dataDir: string, command = "test"): Promise<Database> {
  const db = await openDatabase({ kind: "pglite", dataDir }, { command, sharedBuffers: TEST_SHARED_BUFFERS });
  open.push(db);
  return db;
}

async function count(db: Database, table: string): Promise<number> {
  const rows = await db.queryRows<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

/** Starts the child fixture and resolves with it once it printed `ready`. */
function child(args: string[], ready: string): Promise<{ process: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_LEVEL: "silent" },
  });
  children.push(proc);
  let out = "";
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve({ process: proc, output: () => out });
    });
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    proc.once("exit", (code) => {
      if (!out.includes(ready)) reject(new Error(`child exited ${code}: ${out}`));
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    proc.exitCode !== null || proc.signalCode ? resolve() : proc.once("exit", () => resolve()),
  );
}

describe("an embedded folder opened by several processes", () => {
  it("has one owner; a second opener goes through it and every write is seen at once both ways", async () => {
    const dir = await databaseFolder();
    const owner = await openFolder(dir, "retention start");
    const other = await openFolder(dir, "retention link");
    expect(owner.describe()).toBe(`PGlite ${dir}`);
    expect(other.describe()).toContain("through process");
    expect(readEmbeddedOwner(dir)).toMatchObject({ pid: process.pid, command: "retention start" });

    await owner.execScript("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await other.prisma.$executeRaw`INSERT INTO t (id, v) VALUES (1, 'from the second process')`;
    expect(await owner.queryRows("SELECT v FROM t")).toEqual([{ v: "from the second process" }]);
    await owner.prisma.$executeRaw`INSERT INTO t (id, v) VALUES (2, 'from the owner')`;
    expect(await count(other, "t")).toBe(2);
  });

  it("keeps each transaction whole: nobody runs inside another's transaction, a rollback takes only its own writes", async () => {
    const dir = await databaseFolder();
    const owner = await openFolder(dir);
    const other = await openFolder(dir);
    await owner.execScript("CREATE TABLE t (id int PRIMARY KEY)");

    let release!: () => void;
    const inside = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const didInsert = new Promise<void>((resolve) => (inserted = resolve));
    const tx = other.prisma
      .$transaction(async (t) => {
        await t.$executeRaw`INSERT INTO t (id) VALUES (1)`;
        inserted();
        await inside;
        throw new Error("changed my mind");
      })
      .catch((error: Error) => error.message);
    await didInsert;
    // The owner's write waits for the other process's transaction, then lands on its own.
    const ownerWrite = owner.prisma.$executeRaw`INSERT INTO t (id) VALUES (2)`;
    release();
    expect(await tx).toBe("changed my mind");
    await ownerWrite;
    expect(await owner.queryRows("SELECT id FROM t ORDER BY id")).toEqual([{ id: 2 }]);
    expect(await count(other, "t")).toBe(1);
  });

  it("bulk-loads with COPY through the owner, text and binary, and a failed COPY changes nothing", async () => {
    const dir = await databaseFolder();
    const owner = await openFolder(dir);
    const other = await openFolder(dir);
    await owner.execScript("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await other.copyFrom("COPY t (id, v) FROM STDIN", ["1\tone\n", "2\ttwo\n"]);
    expect(await count(owner, "t")).toBe(2);
    await expect(other.copyFrom("COPY t (id, v) FROM STDIN", ["3\tthree\n", "1\tagain\n"])).rejects.toThrow(
      /duplicate key/,
    );
    expect(await count(owner, "t")).toBe(2);
    expect(await count(other, "t")).toBe(2);
  });

  it(
    "rolls back a process killed in the middle of a transaction, and the folder stays usable",
    { timeout: 600_000 },
    async () => {
      const dir = await databaseFolder();
      const owner = await openFolder(dir);
      await owner.execScript("CREATE TABLE t (id int PRIMARY KEY)");
      const holder = await child([dir, "hold", "t", "7"], "holding");
      holder.process.kill("SIGKILL");
      await exited(holder.process);
      expect(await count(owner, "t")).toBe(0);
      const writer = await child([dir, "insert", "t", "8"], "inserted 8 as client");
      await exited(writer.process);
      expect(await owner.queryRows("SELECT id FROM t")).toEqual([{ id: 8 }]);
    },
  );

  it(
    "passes ownership on when the owner dies, even by SIGKILL, without losing committed rows",
    { timeout: 600_000 },
    async () => {
      const dir = await databaseFolder();
      const first = await child([dir, "own"], "owner");
      const writer = await child([dir, "insert", "t", "1"], "inserted").catch((e: Error) => e);
      // The table does not exist yet: the client reports the database error, proving it reached the owner.
      expect(String(writer)).toMatch(/relation "t" does not exist/);
      first.process.kill("SIGKILL");
      await exited(first.process);
      const next = await openFolder(dir);
      expect(next.describe()).toBe(`PGlite ${dir}`);
      await next.execScript("CREATE TABLE t (id int PRIMARY KEY)");
      await next.prisma.$executeRaw`INSERT INTO t (id) VALUES (1)`;
      await next.close();
      open.pop();
      const again = await openFolder(dir);
      expect(await count(again, "t")).toBe(1);
    },
  );

  it("waits for a short command holding the folder, but refuses a second long-running process by name", async () => {
    const dir = await databaseFolder();
    await openFolder(dir, "retention start");
    const error = await openDatabase(
      { kind: "pglite", dataDir: dir },
      { command: "retention start", waitForOwner: true },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedDatabaseError);
    expect((error as Error).message).toMatch(new RegExp(`already served by process ${process.pid} \\(retention start`));
  });

  it("never builds a database over a folder that holds something else, and leaves it as it was", async () => {
    const dir = tempFolder();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "notes.txt"), "not a database");
    const error = await openDatabase({ kind: "pglite", dataDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedDatabaseError);
    expect((error as Error).message).toMatch(/no embedded database/);
    expect(readdirSync(dir)).toEqual(["notes.txt"]);
  });

  it("says what happened and how to recover when a database folder fails to open, and does not re-create it", async () => {
    const dir = await databaseFolder();
    const db = await openFolder(dir);
    await db.close();
    open.pop();
    // Damage it: the control file is what PostgreSQL reads first.
    writeFileSync(path.join(dir, "global", "pg_control"), Buffer.alloc(8192, 7));
    const before = readdirSync(dir).sort();
    const error = await openDatabase({ kind: "pglite", dataDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedDatabaseError);
    expect((error as Error).message).toMatch(/could not be opened .*not re-created.*move the folder aside/s);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
