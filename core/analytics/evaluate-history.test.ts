import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTestDatabase } from "../../test/helpers/db";
import { importFile } from "../import/importer";
import { evaluateHistory, type HistoryEvaluation } from "./evaluate-history";
import { seededRandom } from "./models/evaluation";
import { sharedDataFile } from "../../test/helpers/shared-data";

const sampleFile = sharedDataFile("CDNOW_sample.txt");
const cutoff = new Date("1997-10-01T00:00:00.000Z");

/** The file with every customer renamed (a random permutation of new ids) and its lines shuffled. */
function renamedCopy(file: string, into: string): void {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim());
  const random = seededRandom(42);
  const ids = [...new Set(lines.map((l) => l.trim().split(/\s+/)[0]!))];
  const fresh = ids.map((_, i) => String(90000 - i * 7));
  for (let i = fresh.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [fresh[i], fresh[j]] = [fresh[j]!, fresh[i]!];
  }
  const rename = new Map(ids.map((id, i) => [id, fresh[i]!]));
  const renamed = lines.map((l) => {
    const [id, , date, cds, dollars] = l.trim().split(/\s+/);
    return ` ${rename.get(id!)} ${date} ${cds} ${dollars}`;
  });
  for (let i = renamed.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [renamed[i], renamed[j]] = [renamed[j]!, renamed[i]!];
  }
  writeFileSync(into, renamed.join("\n") + "\n");
}

async function evaluateFile(file: string): Promise<HistoryEvaluation> {
  return withTestDatabase("pglite", async (db) => {
    await importFile(db, { kind: "orders", file, format: "cdnow", timeZone: "UTC", now: new Date() });
    return evaluateHistory(db, { cutoff, horizonDays: 273, seeds: [1, 2] });
  });
}

describe.skipIf(!existsSync(sampleFile))(`evaluateHistory on CDNOW_sample (needs ${sampleFile})`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "history-"));
  let original: HistoryEvaluation;
  let renamed: HistoryEvaluation;
  beforeAll(async () => {
    const copy = path.join(dir, "renamed.txt");
    renamedCopy(sampleFile, copy);
    original = await evaluateFile(sampleFile);
    renamed = await evaluateFile(copy);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the same figures when every customer is renamed and the lines reordered: no feature reads ids or order", () => {
    expect(renamed.customers).toBe(original.customers);
    // Every figure but the wall time of training.
    const figures = (r: HistoryEvaluation) =>
      Object.fromEntries(Object.entries(r.models).map(([kind, { trainingMs: _ms, ...m }]) => [kind, m]));
    expect(figures(renamed)).toEqual(figures(original));
    expect(renamed.calibration).toEqual(original.calibration);
    expect(renamed.baselines).toEqual(original.baselines);
    expect(renamed.chosen).toBe(original.chosen);
  });

  it("cross-validates every candidate on the product's features, well above the baselines' chance level", () => {
    expect(original.customers).toBe(2357);
    expect(original.churnRate).toBeGreaterThan(0.6);
    expect(original.churnRate).toBeLessThan(0.8);
    expect(original.seeds).toEqual([1, 2]);
    for (const m of Object.values(original.models)) {
      expect(m.aucSeeds).toHaveLength(2);
      expect(m.aucMean).toBeCloseTo((m.aucSeeds[0]! + m.aucSeeds[1]!) / 2, 12);
      // Out-of-sample: well above chance, and not suspiciously perfect.
      expect(m.auc).toBeGreaterThan(0.72);
      expect(m.auc).toBeLessThan(0.85);
    }
    expect(original.aucMean).toBe(original.models[original.chosen].aucMean);
    // Each candidate against the chosen one on the same customers, with the noise of that difference.
    const chosen = original.models[original.chosen];
    expect(chosen.versusChosen).toEqual({ difference: 0, se: 0 });
    for (const [kind, m] of Object.entries(original.models)) {
      if (kind === original.chosen) continue;
      expect(m.versusChosen.difference).toBeCloseTo(m.aucPooled - chosen.aucPooled, 12);
      expect(m.versusChosen.se).toBeGreaterThan(0);
      expect(m.versusChosen.se).toBeLessThan(0.05);
    }
    expect(original.features).toContain("log_item_price");
    expect(original.calibration.reduce((s, b) => s + b.count, 0)).toBe(2357);
    expect(original.calibration[9]!.observedRate).toBeGreaterThan(original.calibration[0]!.observedRate + 0.4);
  });
});
