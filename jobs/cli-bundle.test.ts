import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  it("is used while its sources are unchanged, and runs the commands", () => {
    const entry = freshCliBundle(dir);
    expect(entry).toBe(path.join(dir, "cli.js"));
    const run = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { main } = await import(${JSON.stringify(entry)}); process.exit(await main(process.argv));`,
        "retention",
        "link",
        "--help",
      ],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, LOG_LEVEL: "silent" } },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Usage: retention link/);
  });

  it("records every source of ours it was built from, and none of the packages", () => {
    const { inputs } = JSON.parse(readFileSync(manifestFile(), "utf8")) as { inputs: Record<string, unknown> };
    expect(Object.keys(inputs)).toEqual(expect.arrayContaining(["jobs/cli.ts", "core/db/client.ts"]));
    expect(Object.keys(inputs).some((file) => file.includes("node_modules"))).toBe(false);
  });

  it("is stale once a source changed, is missing, or was built by another Node", () => {
    let restore = editManifest((m) => (m.inputs["core/db/client.ts"]!.size += 1));
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
