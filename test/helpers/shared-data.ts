// The shared data files (../shared/data beside the project root, never copied into it). A
// worktree sits one folder deeper than the main checkout, so both places are tried.
import { existsSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The path of a shared data file: the first place it exists, else the main checkout's place. */
export function sharedDataFile(name: string): string {
  const candidates = ["../shared/data", "../../shared/data"].map((dir) => path.resolve(ROOT, dir, name));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}
