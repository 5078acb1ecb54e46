// The identity a process claims work under (outbox rows, job leases): host, pid and a random
// suffix, so two processes on one host never share it.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/** A worker identity unique per process: host, pid and a random suffix. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}
