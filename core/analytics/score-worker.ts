// A scoring worker's loop: batches of packed feature rows in, their columns out (transferred,
// not copied). Started by score-pool.ts with the run's ScoringContext as its workerData. A batch
// is scored only if the worker claims it first: the main thread may have taken it (see
// ScoringPool.scoreUnstartedHere), and then it is skipped.
import { parentPort, workerData } from "node:worker_threads";
import { customerScorer, scoreBatch, type ScoringContext } from "./score-batch";

const port = parentPort!;
const scoreRow = customerScorer((workerData as { context: ScoringContext }).context);

port.on("message", ({ id, rows, claim }: { id: number; rows: string[]; claim: Int32Array }) => {
  if (Atomics.compareExchange(claim, 0, 0, 1) !== 0) {
    port.postMessage({ id, batch: null });
    return;
  }
  const { batch, transfer } = scoreBatch(scoreRow, rows);
  port.postMessage({ id, batch }, transfer);
});
