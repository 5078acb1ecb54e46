import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { openDatabase } from "./client";

const dir = mkdtempSync(path.join(tmpdir(), "retention-client-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("starts embedded PGlite with files grown by written zeros, not posix_fallocate", async () => {
  const db = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
  try {
    const rows = await db.queryRows<{ file_extend_method: string }>("SHOW file_extend_method");
    expect(rows[0]?.file_extend_method).toBe("write_zeros");
    // The folder is a working database that keeps its rows.
    await db.execScript("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)");
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
