import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { evaluateLabeled, idLikeReason, inferEncoder, positiveLabelOf } from "./evaluate-labeled";
import { seededRandom } from "./models/evaluation";

const dir = mkdtempSync(path.join(tmpdir(), "labeled-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A subscription export: churn depends on tenure, support calls and the plan, not on noise. */
function writeCsv(file: string, rows: number, seed: number): void {
  const random = seededRandom(seed);
  const lines = ["customer_id,tenure_months,plan,auto_renew,support_calls,noise,region,churned"];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.floor(random() * 60) + 1;
    const plan = ["basic", "plus", "premium"][Math.floor(random() * 3)]!;
    const autoRenew = random() < 0.6 ? "Yes" : "No";
    const calls = Math.floor(random() * 6);
    const logit = 1.2 - 0.06 * tenure + 0.5 * calls - (plan === "premium" ? 1 : 0) - (autoRenew === "Yes" ? 0.8 : 0);
    const churned = random() < 1 / (1 + Math.exp(-logit)) ? "Yes" : "No";
    // Blank cells: some tenure and plan values are missing.
    const tenureCell = random() < 0.05 ? "" : String(tenure);
    const planCell = random() < 0.03 ? "" : plan;
    const region = random() < 0.01 ? "Antarctica" : ["north", "south"][Math.floor(random() * 2)]!;
    lines.push(`C${i},${tenureCell},${planCell},${autoRenew},${calls},${random().toFixed(4)},${region},${churned}`);
  }
  writeFileSync(file, lines.join("\n") + "\n");
}

describe("evaluateLabeled", () => {
  it("encodes numeric, categorical, yes/no and blank cells and finds the signal", async () => {
    const file = path.join(dir, "subscriptions.csv");
    writeCsv(file, 3000, 5);
    const result = await evaluateLabeled(file, { id: "customer_id", label: "churned" });
    expect(result.rows).toBe(3000);
    expect(result.positiveLabel).toBe("Yes");
    expect(result.positives).toBeGreaterThan(300);
    expect(result.positives).toBeLessThan(2700);
    expect(result.features).toEqual(
      expect.arrayContaining([
        "tenure_months",
        "tenure_months_missing",
        "auto_renew",
        "support_calls",
        "noise",
        "plan=(blank)",
      ]),
    );
    expect(result.features).not.toContain("customer_id");
    expect(result.features.some((f) => f.startsWith("plan="))).toBe(true);
    expect(result.auc).toBeGreaterThan(0.8);
    expect(result.aucFolds).toHaveLength(5);
  });

  it("reports missing columns and labels without two values", async () => {
    const file = path.join(dir, "bad.csv");
    writeFileSync(file, "id,x,label\n1,2,a\n2,3,b\n3,4,c\n");
    await expect(evaluateLabeled(file, { id: "id", label: "nope" })).rejects.toThrow(/no column "nope"/);
    await expect(evaluateLabeled(file, { id: "id", label: "label" })).rejects.toThrow(
      /line 4: label "label" has a third value "c" after "a" and "b"/,
    );
  });

  it("names the line of a stray third label value, counting quoted line breaks", async () => {
    const file = path.join(dir, "stray.csv");
    const lines = ["id,note,churned"];
    for (let i = 0; i < 30; i++) lines.push(`${i},"two\nlines",${i % 3 === 0 ? "yes" : "no"}`);
    lines.push(`30,x,maybe`);
    writeFileSync(file, lines.join("\n") + "\n");
    await expect(evaluateLabeled(file, { id: "id", label: "churned" })).rejects.toThrow(
      /line 62: label "churned" has a third value "maybe"/,
    );
  });

  it("drops row counters and identifiers, and chooses between the candidates on the same folds", async () => {
    const file = path.join(dir, "with-ids.csv");
    writeCsv(file, 1500, 11);
    const source = readFileSync(file, "utf8").trim().split("\n");
    const withIds = source.map((line, i) =>
      i === 0 ? `RowNumber,account,${line}` : `${i},${100000 + ((i * 7919) % 100000)},${line}`,
    );
    writeFileSync(file, withIds.join("\n") + "\n");
    const result = await evaluateLabeled(file, { id: "customer_id", label: "churned" });
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { column: "RowNumber", reason: "a row counter" },
        { column: "account", reason: expect.stringContaining("identifier") },
      ]),
    );
    expect(result.features).not.toContain("RowNumber");
    expect(Object.keys(result.models).sort()).toEqual(["blend", "gbt", "logistic"]);
    expect(result.auc).toBe(result.models[result.chosen].auc);
    // The label is linear in the inputs: trees are no better, so the simpler model is chosen.
    expect(result.chosen).toBe("logistic");
  });

  it("finds an interaction only the trees can use, and chooses them", async () => {
    const file = path.join(dir, "interaction.csv");
    const random = seededRandom(12);
    const lines = ["id,a,b,churned"];
    for (let i = 0; i < 1500; i++) {
      const a = random() * 2 - 1;
      const b = random() * 2 - 1;
      const churned = (a > 0 !== b > 0) !== random() < 0.1;
      lines.push(`c${i},${a.toFixed(3)},${b.toFixed(3)},${churned ? 1 : 0}`);
    }
    writeFileSync(file, lines.join("\n") + "\n");
    const result = await evaluateLabeled(file, { id: "id", label: "churned" });
    expect(result.chosen).toBe("gbt");
    expect(result.models.gbt.auc).toBeGreaterThan(0.85);
    expect(result.models.logistic.auc).toBeLessThan(0.6);
  });
});

describe("column inference", () => {
  it("imputes blanks with the median and flags them", () => {
    const enc = inferEncoder("age", ["30", "", "10", "20", "NA"]);
    if ("skip" in enc) throw new Error("skipped");
    expect(enc.names).toEqual(["age", "age_missing"]);
    expect(enc.encode("")).toEqual([20, 1]);
    expect(enc.encode("10")).toEqual([10, 0]);
  });
  it("skips identifiers and constants", () => {
    expect(
      inferEncoder(
        "email",
        Array.from({ length: 100 }, (_, i) => `u${i}@x.org`),
      ),
    ).toEqual({ skip: expect.stringContaining("unique") });
    expect(inferEncoder("k", ["1", "1", "1"])).toEqual({ skip: "constant" });
  });
  it("tells identifiers from measurements", () => {
    const n = 50;
    expect(idLikeReason(Array.from({ length: n }, (_, i) => String(i + 1)))).toBe("a row counter");
    expect(idLikeReason(Array.from({ length: n }, (_, i) => String(15634602 + i * 37)))).toContain("identifier");
    expect(idLikeReason(Array.from({ length: n }, (_, i) => `name-${i}`))).toContain("identifier");
    // Unique but fractional (a salary), or repeating (an age): measurements.
    expect(idLikeReason(Array.from({ length: n }, (_, i) => (1000 + i * 13.37).toFixed(2)))).toBeNull();
    expect(idLikeReason(Array.from({ length: n }, (_, i) => String(20 + (i % 30))))).toBeNull();
  });
  it("picks the positive label by name, else the minority", () => {
    expect(
      positiveLabelOf(
        new Map([
          ["active", 900],
          ["churned", 100],
        ]),
      ),
    ).toBe("churned");
    expect(
      positiveLabelOf(
        new Map([
          ["0", 10],
          ["1", 90],
        ]),
      ),
    ).toBe("1");
    expect(
      positiveLabelOf(
        new Map([
          ["stayed", 70],
          ["gone", 30],
        ]),
      ),
    ).toBe("gone");
  });
});
