// Starts a scoring worker (score-pool.ts): sources are TypeScript, loaded through tsx as the
// `retention` command loads them (a worker thread does not inherit the main thread's loader).
import { workerData } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
await import(workerData.entry);
