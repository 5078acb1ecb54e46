#!/usr/bin/env node
// The `retention` command. Sources are TypeScript run through tsx, so a clone works without a
// build step; `npm run build` only type-checks.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./cli.ts");
const code = await main(process.argv);
// Open handles (a PGlite instance, a pool, a bot) must not keep a finished command alive;
// long-running commands (start) never return from main.
process.exit(code);
