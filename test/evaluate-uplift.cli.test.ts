// `retention evaluate uplift` as a user runs it: a real process on a generated experiment file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom } from "../core/analytics/models/evaluation";

const ROOT = path.resolve(import.meta.dirname, "..");
const dir = mkdtempSync(path.join(os.tmpdir(), "uplift-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function retention(args: string[]) {
  const result = spawnSync("node", ["jobs/retention.mjs", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "silent", DATABASE_URL: "" },
    timeout: 600_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Coupon test: the coupon moves visitors with many past visits (+30 points) and nobody else. */
function writeExperiment(file: string, rows: number): void {
  const random = seededRandom(3);
  const lines = ["visitor,variant,visits,channel,bought"];
  for (let i = 0; i < rows; i++) {
    const treated = random() < 0.5;
    const visits = Math.floor(random() * 20);
    const channel = random() < 0.5 ? "web" : "app";
    const p = 0.1 + (treated && visits >= 10 ? 0.3 : 0);
    lines.push(`v${i},${treated ? "coupon" : "none"},${visits},${channel},${random() < p ? "true" : "false"}`);
  }
  writeFileSync(file, lines.join("\n") + "\n");
}

describe("retention evaluate uplift", () => {
  it("prints rows, arms, ATE with its interval, Qini and uplift@30 as JSON", () => {
    const file = path.join(dir, "coupon.csv");
    writeExperiment(file, 2000);
    const run = retention([
      "evaluate",
      "uplift",
      file,
      "--treatment",
      "variant",
      "--control-value",
      "none",
      "--outcome",
      "bought",
      "--id",
      "visitor",
      "--ignore",
      "channel",
      "--json",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(result).sort()).toEqual(["ate", "ateCi", "control", "qini", "rows", "treated", "upliftAt30"]);
    expect(result.rows).toBe(2000);
    expect((result.treated as number) + (result.control as number)).toBe(2000);
    const [lo, hi] = result.ateCi as [number, number];
    // True average effect: half the visitors (visits 10-19) gain 30 points, so 0.15.
    expect(lo).toBeLessThan(0.15);
    expect(hi).toBeGreaterThan(0.15);
    expect(result.ate).toBeGreaterThan(0.08);
    expect(result.qini).toBeGreaterThan(0.1);
    expect(result.upliftAt30).toBeGreaterThan(0.15);
  });

  it("exits with 2 and names the bad value and its line", () => {
    const file = path.join(dir, "bad.csv");
    writeFileSync(
      file,
      "id,arm,x,y\n" +
        Array.from({ length: 30 }, (_, i) => `${i},${i % 2 ? "A" : "B"},${i},${i === 7 ? "maybe" : i % 2}`).join("\n"),
    );
    const run = retention(["evaluate", "uplift", file, "--treatment", "arm", "--control-value", "B", "--outcome", "y"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/line 9: outcome "y" is "maybe", expected a binary value/);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    const missing = retention([
      "evaluate",
      "uplift",
      file,
      "--treatment",
      "group",
      "--control-value",
      "B",
      "--outcome",
      "y",
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no column "group" \(columns: id, arm, x, y\)/);
  });
});
