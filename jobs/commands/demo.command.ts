import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { openDatabase } from "../../core/db/client";
import { applyMigrations } from "../../core/db/migrate";
import { loadRetailer } from "../../core/demo/load";
import { generateRetailer } from "../../core/demo/synthetic";
import { createLogger } from "../../core/log";
import { configFromEnv } from "../context";
import type { DemoContext } from "../demo/demo-step";
import { demoSteps } from "../demo/steps";

/** "Today" in the synthetic world, fixed so the demo prints the same figures every run. */
export const DEMO_AS_OF = new Date("2026-11-01T00:00:00Z");

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("Create a fresh embedded database with a synthetic retailer and run the whole pipeline on it")
    .option("--customers <n>", "how many customers to generate (default DEMO_CUSTOMERS)", (v) => Number.parseInt(v, 10))
    .option("--seed <n>", "random seed (default DEMO_SEED)", (v) => Number.parseInt(v, 10))
    .action(async (opts: { customers?: number; seed?: number }) => {
      const config = configFromEnv();
      const started = Date.now();
      const dir = path.resolve(config.database.dataDir, "demo");
      const outputDir = path.resolve(config.database.dataDir, "demo-output");
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(outputDir, { recursive: true });
      // The demo always runs on its own embedded database, never on DATABASE_URL's data.
      const db = await openDatabase({ kind: "pglite", dataDir: dir });
      const log = createLogger(config.log.level === "info" ? "warn" : config.log.level);
      const print = (line = "") => console.log(line);
      try {
        await applyMigrations(db);
        const customers = opts.customers ?? config.demo.customers;
        const seed = opts.seed ?? config.demo.seed;
        print(
          `Retention demo: ${customers.toLocaleString("en")} synthetic customers (seed ${seed}) in ${db.describe()}`,
        );
        const data = generateRetailer({ customers, seed, asOf: DEMO_AS_OF });
        await loadRetailer(db, data);
        print(`generated and stored in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const asOf = new Date(DEMO_AS_OF);
        const ctx: DemoContext = { config, db, log, now: () => asOf, close: () => db.close(), asOf, print, outputDir };
        let failed = 0;
        for (const step of demoSteps) {
          const t = Date.now();
          print();
          print(`== ${step.title} ==`);
          try {
            await step.run(ctx);
          } catch (error) {
            failed++;
            print(`!! ${step.title} failed: ${error instanceof Error ? error.message : String(error)}`);
            log.error({ err: error, step: step.title }, "demo step failed");
          }
          print(`   (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        }
        print();
        print(`Demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s. Files: ${outputDir}`);
        if (failed) process.exitCode = 1;
      } finally {
        await db.close();
      }
    });
}
