#!/usr/bin/env node
// The `retention` command. Sources are TypeScript run through tsx, so a clone works without a
// build step; `npm run build` only type-checks. `npm ci` also prebuilds the command line into
// jobs/.build (jobs/cli-bundle.mjs), used while no source has changed since: it starts in about
// a third of the CPU time. RETENTION_FROM_SOURCES=true always runs the sources.
import v8 from "node:v8";
import { freshCliBundle, loadCliBundle } from "./cli-bundle.mjs";
import { SHORT_RUN_V8_FLAGS } from "./v8-flags.mjs";

// Only `start` keeps V8's default WebAssembly tiering (see jobs/v8-flags.mjs).
const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
const v8Flags = command === "start" ? [] : SHORT_RUN_V8_FLAGS;
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
