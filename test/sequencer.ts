// The order test files start in: the longest first, so the two workers finish together instead
// of one running a long end-to-end file alone at the end. Durations come from vitest's own cache
// when it has them (a machine that ran the suite before), else from test/file-durations.json
// (a fresh checkout, CI); files in neither are new and start first.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const DURATIONS = path.join(import.meta.dirname, "file-durations.json");

/** Seconds per test file (path from the project root), as `npm run test:durations` recorded them. */
function recordedDurations(): Record<string, number> {
  return existsSync(DURATIONS) ? (JSON.parse(readFileSync(DURATIONS, "utf8")) as Record<string, number>) : {};
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const recorded = recordedDurations();
    const root = this.ctx.config.root;
    const weight = (spec: TestSpecification) => {
      const file = path.relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${file}`);
      if (cached && !cached.failed) return cached.duration / 1000;
      return recorded[file] ?? Number.POSITIVE_INFINITY;
    };
    return [...files].sort((a, b) => weight(b) - weight(a));
  }
}
