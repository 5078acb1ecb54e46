import { defineConfig } from "vitest/config";
import { SHORT_RUN_V8_FLAGS } from "./jobs/v8-flags.mjs";
import LongestFirst from "./test/sequencer.ts";

export default defineConfig({
  test: {
    include: ["core/**/*.test.ts", "bot/**/*.test.ts", "jobs/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["bench/**", "node_modules/**"],
    globalSetup: ["test/global-setup.ts"],
    // Guards against a test that hangs, not budgets: on a loaded machine a database clone or a
    // child process can take many times its idle time, and a test must not fail for that. Tests
    // wait for conditions, never for durations, and assert nothing about how long they took.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
    // One more worker than the 2 cores of the machines it is measured on: several files mostly
    // wait (schedules firing each second, 429s answered with retry_after, spawned processes), and
    // a third worker fills those waits. Idle, 2026-12-03: 2 workers 231 s, 3 workers 205 s, 4 210 s.
    maxWorkers: 3,
    // Test files share a worker's loaded modules instead of loading the ORM, PGlite and the bot
    // again for each file (the suite in about half the time). Files keep no state in modules:
    // each test gets its own database (test/helpers/db.ts), spawned processes their own folders.
    isolate: false,
    // A small PGlite buffer cache: each engine start zeroes it (0.5 s of CPU at the default 128MB),
    // and the suite starts a few hundred, in process and in the commands it spawns.
    env: { LOG_LEVEL: "silent", PGLITE_SHARED_BUFFERS: "16MB" },
    // As `retention` does for commands that end (jobs/retention.mjs): the engines' WebAssembly is
    // not recompiled by V8's optimizing compiler for a test's few queries. Three PGlite-heavy
    // files: 52.4 s of CPU -> 51.1 s and 48.6 s -> 45.1 s, in alternating runs.
    execArgv: SHORT_RUN_V8_FLAGS,
    reporters: ["default", "./test/summary-reporter.ts"],
    // Longest files first (recorded durations on a fresh checkout), so the workers end together.
    sequence: { sequencer: LongestFirst },
  },
});
