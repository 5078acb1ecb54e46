#!/usr/bin/env node
// The `retention` command. Sources are TypeScript run through tsx, so a clone works without a
// build step; `npm run build` only type-checks.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
