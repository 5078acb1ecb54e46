import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCliBundle, freshCliBundle } from "./cli-bundle.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");

describe("the prebuilt command line", () => {
  let dir: string;
  beforeAll(async () => {
    // Beside the real one (packages resolve from the project's node_modules), ignored by git.
    dir = mkdtempSync(path.join(ROOT, "jobs", ".build-test-"));
    await buildCliBundle(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const manifestFile = () => path.join(dir, "manifest.json");
  const editManifest = (edit: (manifest: { node: string; inputs: Record<string, { size: number }> }) => void) => {
    const original = readFileSync(manifestFile(), "utf8");
    const manifest = JSON.parse(original);
    edit(manifest);
    writeFileSync(manifestFile(), JSON.stringify(manifest));
    return () => writeFileSync(manifestFile(), original);
  };

  // `retention link --help` from the bundle at `entry`, as jobs/retention.mjs runs it.
  const linkHelp = (entry: string) =>
    spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { loadCliBundle } from ${JSON.stringify(path.join(ROOT, "jobs/cli-bundle.mjs"))};
         const { main } = loadCliBundle(${JSON.stringify(entry)});
         process.exit(await main(process.argv));`,
        "retention",
        "link",
        "--help",
      ],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, LOG_LEVEL: "silent" } },
    );
  const caches = () => readdirSync(dir).filter((file) => file.endsWith(".cache"));

  it("is used while its sources are unchanged, and runs the commands", () => {
    const entry = freshCliBundle(dir);
    expect(entry).toBe(path.join(dir, "cli.cjs"));
    const run = linkHelp(entry!);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Usage: retention link/);
  });

  it("keeps the code it compiled for the next process, and compiles again when V8 refuses that", () => {
    for (const file of caches()) rmSync(path.join(dir, file));
    const entry = freshCliBundle(dir)!;
    expect(linkHelp(entry).status).toBe(0);
    const [cache] = caches();
    expect(cache).toBeDefined();
    const compiled = readFileSync(path.join(dir, cache!));
    expect(compiled.length).toBeGreaterThan(100_000);

    // A cache V8 rejects (here: not a cache at all) costs a compile, never the command.
    writeFileSync(path.join(dir, cache!), Buffer.from("not compiled code"));
    const run = linkHelp(entry);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Usage: retention link/);
    expect(caches()).toEqual([cache]);
    expect(readFileSync(path.join(dir, cache!)).length).toBeGreaterThan(100_000);
  });

  it("records every source of ours it was built from, and npm's record of the packages it holds", () => {
    const { inputs } = JSON.parse(readFileSync(manifestFile(), "utf8")) as { inputs: Record<string, unknown> };
    expect(Object.keys(inputs)).toEqual(
      expect.arrayContaining(["jobs/cli.ts", "core/db/client.ts", "node_modules/.package-lock.json"]),
    );
    expect(Object.keys(inputs).filter((file) => file.includes("node_modules"))).toEqual([
      "node_modules/.package-lock.json",
    ]);
  });

  it("is stale once a source or an installed package changed, is missing, or was built by another Node", () => {
    let restore = editManifest((m) => (m.inputs["core/db/client.ts"]!.size += 1));
    expect(freshCliBundle(dir)).toBeNull();
    restore();
    restore = editManifest((m) => (m.inputs["node_modules/.package-lock.json"]!.size += 1));
    expect(freshCliBundle(dir)).toBeNull();
    restore();
    restore = editManifest((m) => (m.inputs["core/does-not-exist.ts"] = { size: 1 }));
    expect(freshCliBundle(dir)).toBeNull();
    restore();
    restore = editManifest((m) => (m.node = "v0.0.0"));
    expect(freshCliBundle(dir)).toBeNull();
    restore();
    expect(freshCliBundle(dir)).not.toBeNull();
    rmSync(manifestFile());
    expect(freshCliBundle(dir)).toBeNull();
  });
});
