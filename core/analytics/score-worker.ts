// A scoring worker's loop: batches of packed feature rows in, their columns out (transferred,
// not copied). Started by score-pool.ts with the run's ScoringContext as its workerData.
import { parentPort, workerData } from "node:worker_threads";
import { customerScorer, ScoreColumns, type ScoringContext } from "./score-batch";

const port = parentPort!;
const scoreRow = customerScorer((workerData as { context: ScoringContext }).context);

port.on("message", ({ id, rows }: { id: number; rows: string[] }) => {
  const started = performance.now();
  const cols = new ScoreColumns(rows.length);
  for (const row of rows) scoreRow(row, cols);
  const { batch, transfer } = cols.export(performance.now() - started);
  port.postMessage({ id, batch }, transfer);
});
