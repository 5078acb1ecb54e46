// Runs the `retention` command as a user does: a real process, real environment variables.
import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface RetentionRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `retention <args>` in a child process, resolved when it has exited and closed its output.
 * No time limit of its own: on a loaded machine a command may take long, and the test's
 * timeout is the only guard against one that hangs.
 */
export function runRetention(args: string[], env: Record<string, string> = {}): Promise<RetentionRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "jobs/retention.mjs"), ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "silent", DATABASE_URL: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
