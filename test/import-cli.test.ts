// `retention import` as a user runs it: the UCI export with no option, and a file whose every row
// is rejected, which must exit non-zero and name the option that helps.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createMigratedDataDir } from "./helpers/db";

const ROOT = path.resolve(import.meta.dirname, "..");
const UCI =
  ["../../shared/data", "../../../shared/data"]
    .map((p) => path.resolve(ROOT, p, "online_retail_first_week.csv"))
    .find((p) => existsSync(p)) ?? "";
const dataDir = mkdtempSync(path.join(os.tmpdir(), "import-cli-"));

function retention(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("node", ["jobs/retention.mjs", ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "silent", DATABASE_URL: "", DATA_DIR: dataDir },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("retention import (CLI)", () => {
  beforeAll(async () => {
    await createMigratedDataDir(dataDir);
  });

  it("a file whose every row is rejected exits 1, counts the reason and names --create-customers", async () => {
    const csv = path.join(dataDir, "orders.csv");
    writeFileSync(csv, "order_id,customer_id,date,amount\nq1,nobody,2024-01-01,5\nq2,nobody2,2024-01-02,6\n");
    const result = await retention(["import", "orders", csv]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/2 x unknown customer/);
    expect(result.stdout).toMatch(/FAILED: too many rows were rejected/);
    expect(result.stdout).toMatch(/--create-customers/);
  });

  it.skipIf(!UCI)(
    "the UCI export imports with --create-customers alone and states shape, dates, refunds and anonymous sales",
    async () => {
      const result = await retention(["import", "orders", UCI, "--create-customers"]);
      expect(result.stderr).not.toMatch(/error|warning/i); // stderr carries only the progress bar
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/shape: one row per product/);
      expect(result.stdout).toMatch(/dates: M\/d\/yy H:mm \(month first/);
      expect(result.stdout).toMatch(/not attributed to a customer: \d+ sales/);
      expect(result.stdout).toMatch(/refunds: inserted \d+/);
      expect(result.stdout).toMatch(/marketable: 0 of \d+ customers/);
      expect(result.stdout).toMatch(/1 x the last line is cut short/);
    },
    300_000,
  );
});
