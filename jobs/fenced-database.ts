// The database as a leased job sees it: once the job's lease is lost (its abort signal fired),
// every further query fails with `LeaseLostError` instead of running beside the instance that
// now holds the lease. A job that ignores its signal is still stopped at its next query.
import type { PrismaClient } from "../generated/prisma/client";
import type { Database } from "../core/db/client";

/** Thrown into a job whose lease was lost: another instance may be running it now. */
export class LeaseLostError extends Error {
  constructor(
    readonly job: string,
    readonly reason: string,
  ) {
    super(`job "${job}" stopped: ${reason}`);
    this.name = "LeaseLostError";
  }
}

function failIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw signal.reason instanceof Error ? signal.reason : new LeaseLostError("unknown", String(signal.reason));
}

/** `db` with every query refused once `signal` has fired. Closing it closes nothing. */
export function fencedDatabase(db: Database, signal: AbortSignal): Database {
  const prisma = db.prisma.$extends({
    query: {
      async $allOperations({ args, query }) {
        failIfAborted(signal);
        return query(args);
      },
    },
  });
  return {
    // The extension keeps PrismaClient's whole surface; only its static type is a different one.
    prisma: prisma as unknown as PrismaClient,
    target: db.target,
    describe: () => db.describe(),
    async execScript(sql) {
      failIfAborted(signal);
      return db.execScript(sql);
    },
    async copyFrom(copySql, chunks) {
      failIfAborted(signal);
      return db.copyFrom(copySql, chunks);
    },
    async queryRows<T>(sql: string, params?: readonly unknown[]) {
      failIfAborted(signal);
      return db.queryRows<T>(sql, params);
    },
    async withSession(work) {
      failIfAborted(signal);
      return db.withSession(work);
    },
    // The job borrows the connection; the process that opened it closes it.
    close: async () => undefined,
  };
}
