// `npm run test:durations`: writes test/file-durations.json from vitest's cache of the last run
// (seconds per file, rounded), the order test/sequencer.ts starts files in on a fresh checkout.
// Run the whole suite on an idle machine first.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const cacheDir = path.join(root, "node_modules/.vite/vitest");
const results = readdirSync(cacheDir, { recursive: true })
  .filter((f) => String(f).endsWith("results.json"))
  .map((f) => JSON.parse(readFileSync(path.join(cacheDir, String(f)), "utf8")).results)
  .flat();
const durations = Object.fromEntries(
  results
    .map(([key, { duration }]) => [key.slice(key.indexOf(":") + 1), Math.round(duration / 100) / 10])
    .filter(([file]) => readdirSync(path.join(root, path.dirname(file))).includes(path.basename(file)))
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(path.join(root, "test/file-durations.json"), `${JSON.stringify(durations, null, 2)}\n`);
console.log(`test/file-durations.json: ${Object.keys(durations).length} files`);
