import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config/config";
import { newPGlite, openDatabase } from "./client";

const dir = mkdtempSync(path.join(tmpdir(), "retention-client-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("starts embedded PGlite with files grown by written zeros, not posix_fallocate, and WAL segments not zero-filled", async () => {
  const db = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") }, { sharedBuffers: "16MB" });
  try {
    const rows = await db.queryRows<{ file_extend_method: string }>("SHOW file_extend_method");
    expect(rows[0]?.file_extend_method).toBe("write_zeros");
    expect(await db.queryRows("SHOW wal_init_zero")).toEqual([{ wal_init_zero: "off" }]);
    // The buffer cache is the one asked for (PGLITE_SHARED_BUFFERS in the commands).
    expect(await db.queryRows("SHOW shared_buffers")).toEqual([{ shared_buffers: "16MB" }]);
    // The folder is a working database that keeps its rows, also past a new WAL segment.
    const walFile = async () =>
      (await db.queryRows<{ f: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS f"))[0]!.f;
    const firstSegment = await walFile();
    await db.execScript(
      "CREATE TABLE t (x int, pad text); INSERT INTO t SELECT i, repeat('x', 100) FROM generate_series(1, 1000) i",
    );
    await db.execScript("CREATE TABLE filler AS SELECT i, repeat('y', 100) AS pad FROM generate_series(1, 200000) i");
    expect(await walFile()).not.toBe(firstSegment);
  } finally {
    await db.close();
  }
  const reopened = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
  try {
    expect(await reopened.queryRows<{ n: number }>("SELECT count(*)::int AS n FROM t")).toEqual([{ n: 1000 }]);
  } finally {
    await reopened.close();
  }
});

it("refuses a PGLITE_SHARED_BUFFERS that is not a size, naming it", () => {
  expect(() => loadConfig({ PGLITE_SHARED_BUFFERS: "lots" })).toThrow(ConfigError);
  expect(() => loadConfig({ PGLITE_SHARED_BUFFERS: "lots" })).toThrow(/PGLITE_SHARED_BUFFERS.*128MB/);
  expect(loadConfig({ PGLITE_SHARED_BUFFERS: "512kB" }).database.pgliteSharedBuffers).toBe("512kB");
  expect(loadConfig({}).database.pgliteSharedBuffers).toBe("128MB");
  expect(() => newPGlite(undefined, { sharedBuffers: "lots" })).toThrow(/"lots" is not a size/);
});
