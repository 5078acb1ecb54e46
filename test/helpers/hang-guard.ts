/**
 * How long a test's wait for a condition goes on before it is reported as hung. Not a budget:
 * only there so a wait that can never end fails naming what it waited for, before vitest's own
 * test timeout. No vitest import, so the stand-ins the benchmarks share can use it too.
 */
export const HANG_GUARD_MS = 480_000;
