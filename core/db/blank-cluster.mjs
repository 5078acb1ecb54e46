// A new embedded database starts as a copy of a blank cluster made once, at install time (`npm ci`
// runs this file), instead of running PGlite's initdb in the process that creates it: initdb
// costs about 7 s of CPU, loading the copy about 2.5 s. The first `npm start`, `npm run demo` or
// CLI command on a new DATA_DIR, an in-memory database (`retention evaluate cdnow`), and Prisma's
// CLI all start sooner. The copy is keyed by PGlite's version; without one (an install that
// skipped scripts, another PGlite), PGlite runs initdb as before. It is a cache, never the source
// of truth: deleting it only makes the next new database slower to create.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";

// Two levels below the project root, like the bundled command line (jobs/.build) that includes it.
const ROOT = path.resolve(import.meta.dirname, "../..");

function pgliteVersion(root) {
  const manifest = path.join(root, "node_modules", "@electric-sql", "pglite", "package.json");
  return JSON.parse(readFileSync(manifest, "utf8")).version;
}

/** Where the blank cluster for the installed PGlite is kept. */
export function blankClusterFile(root = ROOT) {
  return path.join(root, "node_modules", ".cache", "retention", `pglite-${pgliteVersion(root)}-blank.tar.gz`);
}

/** The blank cluster as PGlite's `loadDataDir` takes it, or undefined when there is none. */
export function blankCluster(root = ROOT) {
  try {
    // Unpacked here (native zlib): PGlite's own gzip reader never finishes inside Prisma's CLI.
    return new Blob([gunzipSync(readFileSync(blankClusterFile(root)))]);
  } catch {
    return undefined;
  }
}

/** Runs PGlite's initdb once and keeps the result; returns the file written. */
export async function buildBlankCluster(root = ROOT) {
  const { PGlite } = await import("@electric-sql/pglite");
  const file = blankClusterFile(root);
  const pglite = new PGlite();
  let bytes;
  try {
    await pglite.waitReady;
    bytes = new Uint8Array(await (await pglite.dumpDataDir("gzip")).arrayBuffer());
  } finally {
    await pglite.close();
  }
  // Written beside, then renamed: a reader never sees half a file.
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
  return file;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  buildBlankCluster().then(
    (file) => console.log(`retention: blank embedded database made (${path.relative(ROOT, file)})`),
    // Never fails an install: without it, a new embedded database runs initdb.
    (error) =>
      console.warn(`retention: could not make the blank embedded database (${error.message}); initdb will run instead`),
  );
}
