// Prints one closing line, "N passed, N failed, N skipped", after vitest's own summary, so
// any log reader (CI included) can count the run without knowing vitest's format.
import type { Reporter, TestModule } from "vitest/node";

/** What the count reads of a test file: its state, and its tests' states. */
export interface ModuleOutcome {
  state(): string;
  children: { allTests(): Iterable<{ result(): { state: string } }> };
}

/**
 * Counts tests by outcome. A file that failed without a failing test (a hook or its import threw,
 * so its tests were skipped or passed) counts as one failure: the run failed, and the line says so.
 */
export function countOutcomes(
  modules: ReadonlyArray<ModuleOutcome>,
  unhandledErrors = 0,
): { passed: number; failed: number; skipped: number } {
  let passed = 0;
  let failed = unhandledErrors;
  let skipped = 0;
  for (const module of modules) {
    let failedHere = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") passed++;
      else if (state === "failed") failedHere++;
      else skipped++;
    }
    failed += module.state() === "failed" && failedHere === 0 ? 1 : failedHere;
  }
  return { passed, failed, skipped };
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const { passed, failed, skipped } = countOutcomes(testModules, unhandledErrors.length);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
