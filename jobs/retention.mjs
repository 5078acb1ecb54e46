#!/usr/bin/env node
// The `retention` command. Sources are TypeScript run through tsx, so a clone works without a
// build step; `npm run build` only type-checks. `npm ci` also prebuilds the command line into
// jobs/.build (jobs/cli-bundle.mjs), used while no source has changed since: it starts in about
// a third of the CPU time. RETENTION_FROM_SOURCES=true always runs the sources.
import v8 from "node:v8";
import { freshCliBundle, loadCliBundle } from "./cli-bundle.mjs";

// V8 recompiles WebAssembly functions that ran a while (PGlite's engine, Prisma's query
// compiler) with its optimizing compiler, on other threads. A command that ends in seconds paid
// more for that than it won: opening an embedded folder, one query and closing took 2.2 s of CPU
// instead of 1.35 s with a budget 100 times V8's default, while `retention demo` (a minute of
// work) took the same CPU either way. Only `start`, which runs for days, keeps V8's default.
const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
const v8Flags = command === "start" ? [] : ["--wasm-tiering-budget=180000000"];
for (const flag of v8Flags) v8.setFlagsFromString(flag);

const fromSources = ["true", "1", "yes"].includes(process.env.RETENTION_FROM_SOURCES ?? "");
const bundle = fromSources ? null : freshCliBundle();
let main;
if (bundle) {
  ({ main } = loadCliBundle(bundle, v8Flags));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("./cli.ts"));
}
const code = await main(process.argv);
// Open handles (a PGlite instance, a pool, a bot) must not keep a finished command alive;
// long-running commands (start) never return from main.
process.exit(code);
