// A new embedded database is a copy of the blank cluster `npm ci` made, not a new initdb: the copy
// keeps the cluster's system identifier, which initdb draws at random for every new cluster.
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { expect, it } from "vitest";
import { TEST_SHARED_BUFFERS } from "../../test/helpers/db";
import { blankCluster } from "./blank-cluster.mjs";
import { newPGlite, openDatabase, type Database } from "./client";

const IDENTIFIER = "SELECT system_identifier::text AS id FROM pg_control_system()";

async function identifierOf(db: Database): Promise<string> {
  return (await db.prisma.$queryRawUnsafe<{ id: string }[]>(IDENTIFIER))[0]!.id;
}

it("starts a new folder and an in-memory database from the blank cluster", async () => {
  const blank = blankCluster();
  expect(blank).toBeDefined(); // made by the global setup when `npm ci` did not
  let source: PGlite | undefined;
  let expected: string;
  try {
    source = newPGlite(undefined, { loadDataDir: blank, sharedBuffers: TEST_SHARED_BUFFERS });
    expected = (await source.query<{ id: string }>(IDENTIFIER)).rows[0]!.id;
  } finally {
    await source?.close();
  }
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "blank-cluster-")), "pglite");
  for (const target of [
    { kind: "pglite", dataDir },
    { kind: "pglite", dataDir: null },
  ] as const) {
    const db = await openDatabase(target, { sharedBuffers: TEST_SHARED_BUFFERS });
    try {
      expect(await identifierOf(db)).toBe(expected);
      // A working database, not only a copied one: it takes a table and a row.
      await db.execScript("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
      expect(await db.prisma.$queryRawUnsafe<{ n: number }[]>("SELECT count(*)::int AS n FROM t")).toEqual([{ n: 1 }]);
    } finally {
      await db.close();
    }
  }
});

it("is absent, not an error, where no cluster was made", () => {
  expect(blankCluster(mkdtempSync(path.join(os.tmpdir(), "no-cluster-")))).toBeUndefined();
});
