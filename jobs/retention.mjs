#!/usr/bin/env node
// The `retention` command. Sources are TypeScript run through tsx, so a clone works without a
// build step; `npm run build` only type-checks. `npm ci` also prebuilds the command line into
// jobs/.build (jobs/cli-bundle.mjs), used while no source has changed since: it starts in about
// half the CPU time. RETENTION_FROM_SOURCES=true always runs the sources.
import { freshCliBundle } from "./cli-bundle.mjs";

const fromSources = ["true", "1", "yes"].includes(process.env.RETENTION_FROM_SOURCES ?? "");
const bundle = fromSources ? null : freshCliBundle();
let main;
if (bundle) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("./cli.ts"));
}
const code = await main(process.argv);
// Open handles (a PGlite instance, a pool, a bot) must not keep a finished command alive;
// long-running commands (start) never return from main.
process.exit(code);
