import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom } from "./models/evaluation";
import { evaluateUplift } from "./uplift-evaluate";

const dir = mkdtempSync(path.join(tmpdir(), "uplift-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A randomized offer experiment: half the customers get the offer. Retention without the offer is
 * 30%, higher for long-tenured customers; the offer's effect is `effect(engagement)`. Returns the
 * true average effect over the rows generated.
 */
function writeExperiment(file: string, rows: number, seed: number, effect: (engagement: number) => number): number {
  const random = seededRandom(seed);
  const lines = ["customer_id,group,engagement,tenure_months,plan,noise,retained"];
  let trueEffect = 0;
  for (let i = 0; i < rows; i++) {
    const treated = random() < 0.5;
    const engagement = random();
    const tenure = 1 + Math.floor(random() * 48);
    const plan = random() < 0.4 ? "plus" : "basic";
    const base = 0.2 + 0.004 * tenure;
    const tau = effect(engagement);
    trueEffect += tau;
    const retained = random() < base + (treated ? tau : 0);
    lines.push(
      `C${i},${treated ? "offer" : "control"},${engagement.toFixed(4)},${tenure},${plan},${random().toFixed(4)},${retained ? "yes" : "no"}`,
    );
  }
  writeFileSync(file, lines.join("\n") + "\n");
  return trueEffect / rows;
}

const options = { treatment: "group", controlValue: "control", outcome: "retained", id: "customer_id" };

describe("evaluateUplift", () => {
  it("finds the effect's sign and size, and ranks persuadable customers first when the effect varies", async () => {
    const file = path.join(dir, "varying.csv");
    // Engaged customers (engagement > 0.5) are moved by +35 points; the others are put off (-10).
    const truth = writeExperiment(file, 4000, 11, (e) => (e > 0.5 ? 0.35 : -0.1));
    const result = await evaluateUplift(file, options);
    expect(result.rows).toBe(4000);
    expect(result.treated + result.control).toBe(4000);
    expect(result.treatedValue).toBe("offer");
    expect(result.ate).toBeGreaterThan(0);
    expect(result.ateCi[0]).toBeLessThanOrEqual(truth);
    expect(result.ateCi[1]).toBeGreaterThanOrEqual(truth);
    expect(result.ateCi[0]).toBeLessThan(result.ate);
    expect(result.ateCi[1]).toBeGreaterThan(result.ate);
    console.log("varying", result.qini, result.upliftAt30, result.ate, truth);
    expect(result.qini).toBeGreaterThan(0.1);
    // The top 30% by predicted uplift are engaged customers: close to the +35 points.
    expect(result.upliftAt30).toBeGreaterThan(0.25);
    expect(result.features).toEqual(expect.arrayContaining(["engagement", "tenure_months", "noise"]));
    expect(result.features).not.toContain("customer_id");
    expect(result.features).not.toContain("group");
  });

  it("reports a Qini near zero when every customer has the same effect, and a negative effect as negative", async () => {
    const file = path.join(dir, "constant.csv");
    const truth = writeExperiment(file, 4000, 12, () => -0.08);
    const result = await evaluateUplift(file, options);
    expect(result.ate).toBeLessThan(0);
    expect(result.ateCi[0]).toBeLessThanOrEqual(truth);
    expect(result.ateCi[1]).toBeGreaterThanOrEqual(truth);
    expect(result.ateCi[1]).toBeLessThan(0);
    console.log("constant", result.qini, result.upliftAt30, result.ate, truth);
    expect(Math.abs(result.qini)).toBeLessThan(0.05);
  });

  it("leaves out ignored columns", async () => {
    const file = path.join(dir, "ignored.csv");
    writeExperiment(file, 400, 13, () => 0.1);
    const result = await evaluateUplift(file, { ...options, ignore: ["noise", "plan"] });
    expect(result.features).not.toContain("noise");
    expect(result.features.some((f) => f.startsWith("plan"))).toBe(false);
  });
});

describe("evaluateUplift on bad input", () => {
  const header = "id,arm,x,converted";
  const good = Array.from({ length: 40 }, (_, i) => `${i},${i % 2 ? "A" : "ctrl"},${i},${i % 3 ? 1 : 0}`);
  function write(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    writeFileSync(file, [header, ...lines].join("\n") + "\n");
    return file;
  }
  const base = { treatment: "arm", controlValue: "ctrl", outcome: "converted", id: "id" };

  it("names a missing column and lists the columns there are", async () => {
    const file = write("missing.csv", good);
    await expect(evaluateUplift(file, { ...base, outcome: "bought" })).rejects.toThrow(
      /no column "bought" \(columns: id, arm, x, converted\)/,
    );
    await expect(evaluateUplift(file, { ...base, ignore: ["nope"] })).rejects.toThrow(/no column "nope"/);
  });

  it("names a third treatment value and its line", async () => {
    const lines = good.slice();
    lines[6] = "6,B,6,1";
    const file = write("third-arm.csv", lines);
    // Line 1 is the header, so data row 6 (0-based) is on line 8.
    await expect(evaluateUplift(file, base)).rejects.toThrow(
      /line 8: treatment "arm" is "B", a third value besides the control value "ctrl" and the treated value "A"/,
    );
  });

  it("says when the control value never occurs", async () => {
    const file = write("no-control.csv", good);
    await expect(evaluateUplift(file, { ...base, controlValue: "control" })).rejects.toThrow(
      /never has the control value "control" \(values: "ctrl", "A"\); check --control-value/,
    );
  });

  it("names a non-binary outcome and its line", async () => {
    const lines = good.slice();
    lines[10] = "10,ctrl,10,2.5";
    const file = write("non-binary.csv", lines);
    await expect(evaluateUplift(file, base)).rejects.toThrow(
      /line 12: outcome "converted" is "2.5", expected a binary value/,
    );
  });
});
