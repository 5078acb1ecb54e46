// Whether this process is fit to serve: the database answers, every migration is applied, and
// each part (bot, Slack app, scheduler, dispatcher) is running or deliberately off.
import type { Database } from "../db/client";
import { migrationStatus, readMigrations, type Migration } from "../db/migrate";

/** `off`: not configured here (no token, scheduler disabled); healthy. `starting`: not yet. */
export type PartState = "off" | "starting" | "running" | "stopping" | "failed";

export interface PartStatus {
  state: PartState;
  /** A short operator-facing note (why it is off, what failed); never personal data or secrets. */
  detail?: string;
  /** When it entered this state (ISO). */
  since: string;
}

/** The parts of one process and their states, set by whoever starts and stops them. */
export class PartRegistry {
  readonly #parts = new Map<string, PartStatus>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  set(part: string, state: PartState, detail?: string): void {
    const current = this.#parts.get(part);
    const since = current?.state === state ? current.since : this.clock().toISOString();
    this.#parts.set(part, detail === undefined ? { state, since } : { state, detail, since });
  }

  snapshot(): Record<string, PartStatus> {
    return Object.fromEntries(this.#parts);
  }
}

export interface HealthReport {
  status: "ok" | "unavailable";
  database: { reachable: boolean; kind: string; error?: string };
  migrations: { applied: number; pending: string[]; drifted: string[] } | null;
  parts: Record<string, PartStatus>;
}

const HEALTHY_PARTS: readonly PartState[] = ["running", "off"];

/**
 * Checks the database (a round trip and the migrations) and collects the parts' states. Never
 * throws: a database that fails or does not answer within `timeoutMs` is reported unreachable.
 */
export async function checkHealth(
  db: Database,
  parts: PartRegistry,
  options: { timeoutMs?: number; migrations?: Migration[] } = {},
): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 3000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let database: HealthReport["database"] = { reachable: true, kind: db.target.kind };
  let migrations: HealthReport["migrations"] = null;
  try {
    const status = await Promise.race([
      (async () => {
        await db.prisma.$queryRaw`SELECT 1`;
        return migrationStatus(db, options.migrations ?? readMigrations());
      })(),
      timeout,
    ]);
    migrations = { applied: status.applied.length, pending: status.pending, drifted: status.drifted };
  } catch (error) {
    // The driver's message names the failure (refused, timed out); connection strings are not in it.
    const message = error instanceof Error ? error.message.split("\n")[0]!.slice(0, 200) : "unknown error";
    database = { reachable: false, kind: db.target.kind, error: message };
  } finally {
    clearTimeout(timer);
  }
  const snapshot = parts.snapshot();
  const healthy =
    database.reachable &&
    migrations !== null &&
    migrations.pending.length === 0 &&
    Object.values(snapshot).every((p) => HEALTHY_PARTS.includes(p.state));
  return { status: healthy ? "ok" : "unavailable", database, migrations, parts: snapshot };
}
