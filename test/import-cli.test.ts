// `retention import` as a user runs it: the UCI export with no option, a file whose every row
// is rejected, which must exit non-zero and name the option that helps, and a file naming a
// customer who asked to be forgotten, who is skipped and counted without failing the import.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { eraseCustomer } from "../core/consent/consent";
import { openDatabase, resolveDatabaseTarget } from "../core/db/client";
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

  it("skips a customer erased on request when the shop's file is imported again, and says so (exit 0)", async () => {
    const csv = path.join(dataDir, "customers.csv");
    writeFileSync(
      csv,
      "customer_id,name,email\nE-100,Vera Lind,vera.lind@example.org\nE-101,Ivan Roe,ivan@example.org\n",
    );
    expect((await retention(["import", "customers", csv])).code).toBe(0);
    // The customer asks to be forgotten (the bot does this on /forget).
    const db = await openDatabase(resolveDatabaseTarget(undefined, dataDir));
    try {
      const vera = await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "E-100" } });
      expect((await eraseCustomer(db, vera.id, { now: new Date() })).ok).toBe(true);
    } finally {
      await db.close();
    }
    const again = await retention(["import", "customers", csv]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/rejected: 0 of 2 rows/);
    expect(again.stdout).toMatch(/skipped: erased on request: 1 of 2 rows/);
    expect(again.stdout).toMatch(/customers: inserted 0, updated 0, unchanged 1/);
  }, 300_000);

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
