import { describe, expect, it } from "vitest";
import { countOutcomes, type ModuleOutcome } from "./summary-reporter";

const file = (state: string, tests: string[]): ModuleOutcome => ({
  state: () => state,
  children: { allTests: () => tests.map((s) => ({ result: () => ({ state: s }) })) },
});

describe("the closing summary line", () => {
  it("counts each test by its outcome", () => {
    expect(countOutcomes([file("passed", ["passed", "skipped"]), file("failed", ["failed", "passed"])])).toEqual({
      passed: 2,
      failed: 1,
      skipped: 1,
    });
  });

  it("counts a file that failed in a hook or on import, its tests skipped or passed, as a failure", () => {
    expect(
      countOutcomes([file("failed", ["skipped", "skipped"]), file("failed", []), file("failed", ["passed"])]),
    ).toEqual({ passed: 1, failed: 3, skipped: 2 });
  });

  it("counts errors outside any test", () => {
    expect(countOutcomes([file("passed", ["passed"])], 2)).toEqual({ passed: 1, failed: 2, skipped: 0 });
  });
});
