// V8 recompiles WebAssembly functions that ran a while (PGlite's engine, Prisma's query
// compiler) with its optimizing compiler, on other threads. A process that ends in seconds paid
// more for that than it won: opening an embedded folder, one query and closing took 2.2 s of CPU
// instead of 1.35 s with a budget 100 times V8's default, while `retention demo` (a minute of
// work) took the same CPU either way. Every `retention` command but `start`, which runs for days,
// sets these (jobs/retention.mjs); so do the test workers (vitest.config.ts) and the short-lived
// `retention start` processes tests spawn (TEST_NODE_FLAGS).

/** V8 flags for a process that lives seconds or minutes, not days. */
export const SHORT_RUN_V8_FLAGS = ["--wasm-tiering-budget=180000000"];
