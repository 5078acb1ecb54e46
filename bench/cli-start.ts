// Benchmark: the CPU a `retention` command costs, from the prebuilt command line (jobs/.build,
// with V8's code cache) and from the sources (tsx), on a new embedded database folder.
//   npm run bench:cli-start                 8 runs of each
//   npm run bench:cli-start -- --runs 20
// 1. `retention metrics` alone: the command opens the folder itself (PGlite starts in it).
// 2. `retention metrics` beside a running `retention start`: it reaches the folder over start's
//    socket, as every command an operator runs next to the bot does.
// CPU is the children's user + system time from /proc/self/stat (Linux), so it counts every
// thread of the command, WebAssembly compilation included. Runs alternate between the two ways.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUNDLE_DIR, buildCliBundle, freshCliBundle } from "../jobs/cli-bundle.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 8;

/**
 * CPU seconds of the children this process has waited for: cutime and cstime, fields 16 and 17
 * of /proc/self/stat, in clock ticks (100 a second on Linux).
 */
function childrenCpu(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function cpuOf(command: string[], env: Record<string, string>): number {
  const before = childrenCpu();
  const run = spawnSync(process.execPath, [path.join(ROOT, "jobs/retention.mjs"), ...command], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "silent", DATABASE_URL: "", TELEGRAM_BOT_TOKEN: "", ...env },
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`retention ${command.join(" ")} failed: ${run.stderr}`);
  return childrenCpu() - before;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function compare(label: string, env: Record<string, string>): void {
  const bundle: number[] = [];
  const sources: number[] = [];
  for (let i = 0; i < runs; i++) {
    bundle.push(cpuOf(["metrics"], env));
    sources.push(cpuOf(["metrics"], { ...env, RETENTION_FROM_SOURCES: "true" }));
  }
  const b = median(bundle);
  const s = median(sources);
  console.log(
    `${label}: prebuilt ${b.toFixed(2)} s of CPU, sources ${s.toFixed(2)} s (median of ${runs}): ` +
      `${(s / b).toFixed(2)}x`,
  );
}

async function main(): Promise<void> {
  if (process.platform !== "linux") throw new Error("reads children's CPU time from /proc: Linux only");
  if (!freshCliBundle()) await buildCliBundle();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "bench-cli-start-"));
  const env = { DATA_DIR: dataDir };
  try {
    cpuOf(["db", "migrate"], env);
    // The first command after a build compiles everything and writes the code cache.
    for (const file of readdirSync(BUNDLE_DIR)) if (file.endsWith(".cache")) rmSync(path.join(BUNDLE_DIR, file));
    console.log(`first command after a build (writes the code cache): ${cpuOf(["metrics"], env).toFixed(2)} s of CPU`);
    compare("alone on the folder", env);

    const start = spawn(process.execPath, [path.join(ROOT, "jobs/retention.mjs"), "start"], {
      cwd: ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: "info", DATABASE_URL: "", TELEGRAM_BOT_TOKEN: "", SLACK_BOT_TOKEN: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let log = "";
        start.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          log += chunk;
          if (log.includes("job scheduled") || log.includes("no scheduled jobs")) resolve();
        });
        start.once("exit", (code) => reject(new Error(`retention start exited (${code}): ${log}`)));
      });
      compare("beside a running retention start", env);
    } finally {
      const exited = new Promise((resolve) => start.once("exit", resolve));
      start.kill("SIGTERM");
      await exited;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
