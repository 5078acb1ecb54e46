// Worker threads for the per-customer part of a scoring run (score-batch.ts): the main thread
// reads feature batches from the database while workers turn earlier ones into columns, so the
// JavaScript no longer waits for the database or the other way round.
import { Worker } from "node:worker_threads";
import type { ScoredBatch, ScoringContext } from "./score-batch";

interface Pending {
  rows: string[];
  /** 0 while no one has started the batch; the worker sets 1, {@link ScoringPool.scoreUnstartedHere} 2. */
  claim: Int32Array;
  resolve: (batch: ScoredBatch) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  failed: Error | null;
}

/**
 * `size` worker threads scoring batches with one {@link ScoringContext}. Each batch's result is
 * exactly what {@link customerScorer} gives on the main thread (the same code on the same
 * values). Close it when done: the workers keep the process alive.
 */
export class ScoringPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;

  constructor(
    readonly size: number,
    context: ScoringContext,
  ) {
    // From the project root, two levels up: the same from these sources and from the command
    // line's prebuilt bundle (jobs/.build), which runs workers from the sources too.
    const boot = new URL("../../core/analytics/score-worker.mjs", import.meta.url);
    const entry = new URL("../../core/analytics/score-worker.ts", import.meta.url).href;
    for (let k = 0; k < size; k++) {
      const worker = new Worker(boot, { workerData: { entry, context } });
      const slot: PoolWorker = { worker, pending: new Map(), failed: null };
      worker.on("message", ({ id, batch }: { id: number; batch: ScoredBatch | null }) => {
        // null: the worker skipped a batch this thread took (and resolved) already.
        const pending = slot.pending.get(id);
        slot.pending.delete(id);
        if (batch) pending?.resolve(batch);
      });
      const fail = (error: Error) => {
        slot.failed ??= error;
        for (const pending of slot.pending.values()) pending.reject(slot.failed);
        slot.pending.clear();
      };
      worker.on("error", fail);
      worker.on("messageerror", fail);
      worker.on("exit", (code) => fail(new Error(`scoring worker exited (code ${code})`)));
      this.workers.push(slot);
    }
  }

  /**
   * Scores a batch of packed feature rows on the least busy worker.
   * @throws the worker's error when it failed (or exited) before answering.
   */
  score(rows: string[]): Promise<ScoredBatch> {
    let slot: PoolWorker | null = null;
    for (const w of this.workers) if (!w.failed && (!slot || w.pending.size < slot.pending.size)) slot = w;
    if (!slot) return Promise.reject(this.workers[0]!.failed!);
    const id = this.nextId++;
    const chosen = slot;
    // Shared, not copied: the worker and this thread race for the batch on it.
    const claim = new Int32Array(new SharedArrayBuffer(4));
    return new Promise<ScoredBatch>((resolve, reject) => {
      chosen.pending.set(id, { rows, claim, resolve, reject });
      chosen.worker.postMessage({ id, rows, claim });
    });
  }

  /**
   * Scores on this thread, with `scoreHere`, every batch no worker has started yet, and settles
   * their promises: once there is nothing more to read, this thread would otherwise wait idle
   * while a worker works through its queue. The same code gives the same columns either way.
   */
  scoreUnstartedHere(scoreHere: (rows: string[]) => ScoredBatch): void {
    for (const slot of this.workers)
      for (const [id, pending] of slot.pending) {
        if (Atomics.compareExchange(pending.claim, 0, 0, 2) !== 0) continue;
        slot.pending.delete(id);
        try {
          pending.resolve(scoreHere(pending.rows));
        } catch (error) {
          pending.reject(error as Error);
        }
      }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
