// The outbox as metrics read it at scrape time: one grouped count, so no delivery code has to
// report anything.
import type { Database } from "../db/client";

export interface OutboxCount {
  kind: string;
  status: string;
  count: number;
}

/** Rows of `outbox_messages` by kind and status (pending, sending, sent, failed, ...). */
export async function readOutboxCounts(db: Database): Promise<OutboxCount[]> {
  const rows = await db.prisma.$queryRaw<{ kind: string; status: string; count: number }[]>`
    SELECT kind, status, count(*)::int AS count FROM outbox_messages GROUP BY kind, status ORDER BY kind, status`;
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.count) }));
}
