// A prebuilt copy of the command line, so a `retention` process starts without compiling
// TypeScript: `npm ci` (postinstall) and the test run build it; `jobs/retention.mjs` uses it only
// while every source it was built from is unchanged, and runs the sources through tsx otherwise.
// It is a cache, never the source of truth: deleting `jobs/.build` only makes start-up slower.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

// Two levels below the project root, like every source file that finds its prompts, locales
// and migrations relative to itself (`../../prompts`): bundled, they resolve from here.
export const BUNDLE_DIR = path.join(ROOT, "jobs", ".build");
const MANIFEST = "manifest.json";
const SOURCE_DIRS = ["core", "bot", "jobs", "generated"];

/** The bundle's entry, or null when it is missing or any source changed since it was built. */
export function freshCliBundle(dir = BUNDLE_DIR, root = ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST), "utf8"));
  } catch {
    return null;
  }
  if (manifest.node !== process.version) return null;
  for (const [file, { size, mtimeMs }] of Object.entries(manifest.inputs)) {
    let stat;
    try {
      stat = statSync(path.join(root, file));
    } catch {
      return null;
    }
    if (stat.size !== size || stat.mtimeMs !== mtimeMs) return null;
  }
  return path.join(dir, manifest.entry);
}

/**
 * Bundles `jobs/cli.ts` and everything of ours it imports (packages stay external, loaded by
 * Node as usual), one chunk per lazily loaded command, and records each source's size and time.
 */
export async function buildCliBundle(dir = BUNDLE_DIR, root = ROOT) {
  const { build } = await import("esbuild");
  rmSync(dir, { recursive: true, force: true });
  // Sizes and times taken before the build reads them: a file saved meanwhile makes it stale.
  const before = new Map();
  for (const top of SOURCE_DIRS) {
    if (!existsSync(path.join(root, top))) continue;
    for (const entry of readdirSync(path.join(root, top), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
      const file = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
      const { size, mtimeMs } = statSync(path.join(root, file));
      before.set(file, { size, mtimeMs });
    }
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: "jobs/cli.ts" },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    packages: "external",
    outdir: dir,
    metafile: true,
    sourcemap: "linked",
    logLevel: "warning",
    write: false,
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const { size, mtimeMs } = before.get(file) ?? statSync(path.join(root, file));
    inputs[file] = { size, mtimeMs };
  }
  mkdirSync(dir, { recursive: true });
  for (const out of result.outputFiles) writeFileSync(out.path, out.contents);
  // Written last: a build stopped half-way leaves no manifest, so no bundle is used.
  writeFileSync(path.join(dir, MANIFEST), JSON.stringify({ node: process.version, entry: "cli.js", inputs }));
  return { dir, sources: Object.keys(inputs).length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  try {
    const { sources } = await buildCliBundle();
    console.log(`retention: command line prebuilt from ${sources} sources into jobs/.build`);
  } catch (error) {
    // Never fails an install: without the bundle, `retention` runs the sources through tsx.
    console.warn(`retention: could not prebuild the command line (${error.message}); it will run from sources`);
  }
}
