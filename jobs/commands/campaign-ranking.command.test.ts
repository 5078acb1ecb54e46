// `retention campaign create --rank-by ... --split ...` as an operator runs it: two campaigns on
// disjoint halves, one ranked by risk; bad values get a clear answer and create nothing. Real
// processes on an embedded folder.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { openDatabase, resolveDatabaseTarget } from "../../core/db/client";
import { createMigratedDataDir } from "../../test/helpers/db";

const ROOT = path.resolve(import.meta.dirname, "../..");

function retention(args: string[], dataDir: string) {
  const result = spawnSync("node", ["jobs/retention.mjs", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "silent", DATABASE_URL: "", TELEGRAM_BOT_TOKEN: "", DATA_DIR: dataDir },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const create = ["campaign", "create", "--offers", "winback-10"];

it("creates campaigns ranked by risk or uplift on split halves, and refuses bad values", async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "campaign-ranking-cli-"));
  await createMigratedDataDir(dataDir);
  const offer = ["--key", "winback-10", "--kind", "percent_off", "--value", "10", "--cost", "4", "--title", "10% off"];
  expect(retention(["campaign", "offer-add", ...offer], dataDir).code).toBe(0);

  const sideways = retention([...create, "--name", "s", "--rank-by", "sideways"], dataDir);
  expect(sideways.code).toBe(2);
  expect(sideways.stderr).toContain('--rank-by: "sideways" is not a ranking; use uplift or risk');
  const half = retention([...create, "--name", "h", "--split", "ab:1"], dataDir);
  expect(half.code).toBe(2);
  expect(half.stderr).toContain('--split: "ab:1" is not seed:part/parts');
  const beyond = retention([...create, "--name", "b", "--split", "ab:2/2"], dataDir);
  expect(beyond.code).toBe(2);
  expect(beyond.stderr).toContain("part must be below parts");

  expect(retention([...create, "--name", "learned", "--split", "ab:0/2"], dataDir).code).toBe(0);
  const risk = retention([...create, "--name", "risk", "--rank-by", "risk", "--split", "ab:1/2"], dataDir);
  expect(risk).toMatchObject({ code: 0, stdout: expect.stringContaining('"risk" (draft)') });

  const db = await openDatabase(resolveDatabaseTarget(undefined, dataDir));
  try {
    const rows = await db.prisma.campaign.findMany({ orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.name, r.targeting])).toEqual([
      ["learned", { split: { seed: "ab", part: 0, parts: 2 } }],
      ["risk", { rankBy: "risk", split: { seed: "ab", part: 1, parts: 2 } }],
    ]);
  } finally {
    await db.close();
  }
});
