import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["core/**/*.test.ts", "bot/**/*.test.ts", "jobs/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["bench/**", "node_modules/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    env: { LOG_LEVEL: "silent" },
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
