// A prebuilt copy of the command line, so a `retention` process starts without compiling
// TypeScript or resolving a few hundred package modules: `npm ci` (postinstall) and the test run
// build it; `jobs/retention.mjs` uses it only while every source it was built from (ours, and the
// installed packages through npm's record of them) is unchanged, and runs the sources through tsx
// otherwise. It is a cache, never the source of truth: deleting `jobs/.build` only makes start-up
// slower.
//
// One CommonJS file with the packages inside, run as one `vm.Script` with V8's code cache: the
// first command writes the functions it compiled beside the bundle, later ones load them instead
// of parsing and compiling again (Node 20 has no compile cache of its own, and none for ES modules).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAscii } from "node:buffer";
import Module from "node:module";
import path from "node:path";
import vm from "node:vm";

const ROOT = path.resolve(import.meta.dirname, "..");

// Two levels below the project root, like every source file that finds its prompts, locales
// and migrations relative to itself (`../../prompts`): bundled, they resolve from here.
export const BUNDLE_DIR = path.join(ROOT, "jobs", ".build");
const MANIFEST = "manifest.json";
const ENTRY = "cli.cjs";
const SOURCE_DIRS = ["core", "bot", "jobs", "generated"];
// npm rewrites it on every install: a bundle holding packages is stale once it changed.
const PACKAGES_RECORD = "node_modules/.package-lock.json";
// Left to Node: PGlite and Prisma's runtime find their WebAssembly and data files beside their own
// modules, node-cron its daemon (through import.meta, which would name the bundle); the SVG
// renderer is a native addon.
const EXTERNAL = ["@electric-sql/pglite", "@electric-sql/pglite/*", "@prisma/*", "@resvg/*", "node-cron"];

// Vega's Node build of its canvas module awaits `import("canvas")` at the top level, which one
// CommonJS file cannot hold. That optional package is not installed (charts are drawn as SVG and
// rasterised by resvg), so the build without it, which Vega ships for browsers, does the same.
const vegaCanvasWithoutNodeCanvas = {
  name: "vega-canvas-without-node-canvas",
  setup(build) {
    build.onResolve({ filter: /^vega-canvas$/ }, (args) => ({
      path: path.join(
        path.dirname(Module.createRequire(path.join(args.resolveDir, "index.js")).resolve("vega-canvas")),
        "vega-canvas.browser.js",
      ),
    }));
  },
};

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
 * Bundles `jobs/cli.ts`, everything of ours it imports and the packages they use (but
 * `EXTERNAL`) into one CommonJS file, and records each source's size and time.
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
  if (existsSync(path.join(root, PACKAGES_RECORD))) {
    const { size, mtimeMs } = statSync(path.join(root, PACKAGES_RECORD));
    before.set(PACKAGES_RECORD, { size, mtimeMs });
  }
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: "jobs/cli.ts" },
    bundle: true,
    format: "cjs",
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    external: EXTERNAL,
    plugins: [vegaCanvasWithoutNodeCanvas],
    // A dynamic import() needs a module loader callback, which a script compiled from V8's code
    // cache loses (Node 20): every import becomes a require, ES-module-only packages included.
    supported: { "dynamic-import": false },
    // What `import.meta` says in an ES module, for the one file: its sources found their
    // prompts, locales and migrations relative to themselves.
    banner: { js: 'const __import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    define: {
      "import.meta.url": "__import_meta_url",
      "import.meta.dirname": "__dirname",
      "import.meta.filename": "__filename",
    },
    // Renamed apart in one scope, classes keep their names: node-fetch (grammY's client) accepts an
    // abort signal only from a class named AbortSignal, and Telegram calls never returned.
    keepNames: true,
    charset: "ascii",
    legalComments: "none",
    outfile: path.join(dir, ENTRY),
    metafile: true,
    sourcemap: "linked",
    logLevel: "warning",
    write: false,
  });
  // In the one file, `import.meta` names the bundle: right for our sources (two levels below the
  // root, as they are), wrong for a package that finds its own files through it.
  const withoutComments = (code) => code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const locating = Object.keys(result.metafile.inputs).filter(
    (file) =>
      file.includes("node_modules/") &&
      /\bimport\.meta\b/.test(withoutComments(readFileSync(path.join(root, file), "utf8"))),
  );
  if (locating.length > 0) {
    throw new Error(`packages that use import.meta cannot be bundled, add them to EXTERNAL: ${locating.join(", ")}`);
  }
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    if (file.includes("node_modules/")) continue;
    const { size, mtimeMs } = before.get(file) ?? statSync(path.join(root, file));
    inputs[file] = { size, mtimeMs };
  }
  if (before.has(PACKAGES_RECORD)) inputs[PACKAGES_RECORD] = before.get(PACKAGES_RECORD);
  mkdirSync(dir, { recursive: true });
  for (const out of result.outputFiles) writeFileSync(out.path, out.contents);
  // Written last: a build stopped half-way leaves no manifest, so no bundle is used.
  writeFileSync(path.join(dir, MANIFEST), JSON.stringify({ node: process.version, entry: ENTRY, inputs }));
  return { dir, sources: Object.keys(inputs).length };
}

/**
 * Runs the bundle at `entry` and returns its exports; `v8Flags` are those the process set at run
 * time (the code cache depends on them as on the command line's). Compiled code comes from the
 * cache file beside it when V8 accepts it; otherwise the functions compiled by the time the
 * process exits are written there for the next one. The cache is named after the bundle's
 * contents and V8's flags (V8 itself checks only the source's length and the flags), so a rebuilt
 * bundle or another set of flags never runs code compiled for a different one.
 */
export function loadCliBundle(entry, v8Flags = []) {
  const bytes = readFileSync(entry);
  const source = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  const key = createHash("sha1")
    .update(bytes)
    .update(process.version)
    .update(process.execArgv.join(" "))
    .update(v8Flags.join(" "))
    .digest("hex")
    .slice(0, 16);
  const cacheFile = `${entry}.${key}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: entry, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once("exit", () => {
      // Best effort: a read-only install or a full disk only means the next start compiles again.
      const partial = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(partial, script.createCachedData());
        renameSync(partial, cacheFile);
      } catch {
        rmSync(partial, { force: true });
      }
    });
  }
  const module = { exports: {} };
  script
    .runInThisContext()
    .call(module.exports, module.exports, Module.createRequire(entry), module, entry, path.dirname(entry));
  return module.exports;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  buildCliBundle().then(
    ({ sources }) => console.log(`retention: command line prebuilt from ${sources} sources into jobs/.build`),
    // Never fails an install: without the bundle, `retention` runs the sources through tsx.
    (error) =>
      console.warn(`retention: could not prebuild the command line (${error.message}); it will run from sources`),
  );
}
