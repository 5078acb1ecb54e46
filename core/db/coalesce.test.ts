import { expect, it } from "vitest";
import { coalesce } from "./coalesce";

/** A batch runner that records each batch it ran and answers each input doubled. */
function recordingRun() {
  const batches: number[][] = [];
  const run = async (inputs: number[]) => {
    batches.push(inputs);
    await new Promise((resolve) => setImmediate(resolve));
    return inputs.map((n) => n * 2);
  };
  return { batches, run };
}

it("runs calls made together as one batch and gives each caller its own result", async () => {
  const { batches, run } = recordingRun();
  const call = coalesce(run);
  const results = await Promise.all([1, 2, 3].map((n) => call(n)));
  expect(results).toEqual([2, 4, 6]);
  expect(batches).toEqual([[1, 2, 3]]);
});

it("sends calls made while a batch is in flight together in the next batch", async () => {
  const { batches, run } = recordingRun();
  const call = coalesce(run);
  const first = call(1);
  // Let the first batch start, then call twice while it runs.
  await new Promise((resolve) => setImmediate(resolve));
  expect(batches).toEqual([[1]]);
  const later = [call(2), call(3)];
  expect(await Promise.all([first, ...later])).toEqual([2, 4, 6]);
  expect(batches).toEqual([[1], [2, 3]]);
});

it("splits a long queue into batches of at most maxBatch, in order", async () => {
  const { batches, run } = recordingRun();
  const call = coalesce(run, { maxBatch: 2 });
  expect(await Promise.all([1, 2, 3, 4, 5].map((n) => call(n)))).toEqual([2, 4, 6, 8, 10]);
  expect(batches).toEqual([[1, 2], [3, 4], [5]]);
});

it("fails every call of a failed batch with its error, and runs later calls", async () => {
  let fail = true;
  const call = coalesce(async (inputs: number[]) => {
    if (fail) throw new Error("database down");
    return inputs;
  });
  const failed = await Promise.allSettled([call(1), call(2)]);
  expect(failed.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"))).toEqual([
    "database down",
    "database down",
  ]);
  fail = false;
  expect(await call(3)).toBe(3);
});

it("waits gatherMs for other calls to join a call made while idle", async () => {
  const { batches, run } = recordingRun();
  const call = coalesce(run, { gatherMs: 5 });
  const first = call(1);
  // Calls in a later turn of the event loop, within the gathering time, join the first.
  await new Promise((resolve) => setImmediate(resolve));
  const second = call(2);
  expect(await Promise.all([first, second])).toEqual([2, 4]);
  expect(batches).toEqual([[1, 2]]);
});
