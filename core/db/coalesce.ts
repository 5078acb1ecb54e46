// Many small statements of one kind, made at once by concurrent callers (the bot reads and
// finishes each update), become one statement over all of them: a call that arrives while the
// previous batch is in flight waits for it and goes with the next one. Each statement's cost
// beyond its rows (the driver, the protocol, and on PGlite parsing and planning it, which took
// most of a small statement's time) is then paid once per batch instead of once per call.

/** Runs a batch: one result per input, in the inputs' order. */
export type BatchRun<I, O> = (inputs: I[]) => Promise<O[]>;

export interface CoalesceOptions {
  /** The most inputs in one batch (default 200). */
  maxBatch?: number;
  /**
   * How long a call made while no batch is in flight waits for others to join it. 0 (the default)
   * waits only for the event loop's current turn to end (`setImmediate`), so the calls that the
   * same turn's I/O starts go together.
   */
  gatherMs?: number;
}

/**
 * Coalesces calls of `run` (see the module comment). At most one batch is in flight. When a batch
 * fails, every call in it fails with its error.
 */
export function coalesce<I, O>(run: BatchRun<I, O>, options: CoalesceOptions = {}): (input: I) => Promise<O> {
  const maxBatch = options.maxBatch ?? 200;
  const gatherMs = options.gatherMs ?? 0;
  let waiting: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  let busy = false;
  const flush = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      try {
        const outputs = await run(batch.map((w) => w.input));
        batch.forEach((w, i) => w.resolve(outputs[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    busy = false;
  };
  return (input) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (busy) return;
      busy = true;
      if (gatherMs > 0) setTimeout(() => void flush(), gatherMs);
      else setImmediate(() => void flush());
    });
}

/** One coalesced function per key object (a `Database`), made on its first call. */
export function coalescedPer<K extends object, I, O>(
  make: (key: K) => BatchRun<I, O>,
  options?: CoalesceOptions,
): (key: K, input: I) => Promise<O> {
  const made = new WeakMap<K, (input: I) => Promise<O>>();
  return (key, input) => {
    let call = made.get(key);
    if (!call) made.set(key, (call = coalesce(make(key), options)));
    return call(input);
  };
}
