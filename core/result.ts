/** An expected outcome: a value, or a failure tagged by `type` that callers switch over. */
export type Result<T, E extends { type: string }> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E extends { type: string }>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** Ends an exhaustive `switch`: adding a case to the union fails the type check here. */
export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
