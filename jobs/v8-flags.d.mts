/** V8 flags for a process that lives seconds or minutes, not days (see v8-flags.mjs). */
export const SHORT_RUN_V8_FLAGS: string[];
