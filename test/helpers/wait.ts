// Waiting in tests: for a condition, never for a duration. How long something takes on a
// loaded machine says nothing about whether it works.
import { vi } from "vitest";
import { HANG_GUARD_MS } from "./hang-guard";

export { HANG_GUARD_MS };

/** Resolves once `condition` holds, polling it; rejects naming `what` only if it never does. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error(`still waiting for: ${what}`);
    },
    { timeout: HANG_GUARD_MS, interval: 20 },
  );
}
