// Scoring or training "as of now" on a history that ended long ago calls every customer lost
// ("no purchase for 5,525 days"). The newest purchase says when the history ends; when that is
// far behind the clock, the caller warns and suggests --as-of (or, for metrics over the days up to
// today, which then hold none of it, --to).
import type { Database } from "../db/client";

export interface StaleHistory {
  lastPurchaseAt: Date;
  daysBehind: number;
  /** The --as-of (or --to) value that takes the history as it stood: the day after its newest purchase. */
  suggestedAsOf: string;
  message: string;
}

/**
 * Compares the newest purchase with `now`. Returns null when the store has no purchases or the
 * newest is at most `maxDaysBehind` old (the churn horizon is a good limit: older than that and
 * every customer looks churned; for metrics, the period's length); otherwise what to tell the user,
 * suggesting `option` (default --as-of) for `command`.
 */
export async function staleHistory(
  db: Database,
  options: { now: Date; maxDaysBehind: number; command: string; option?: "--as-of" | "--to" },
): Promise<StaleHistory | null> {
  const [row] = await db.queryRows<{ last: Date | string | null }>(`SELECT max(purchased_at) AS last FROM purchases`);
  if (!row?.last) return null;
  const lastPurchaseAt = row.last instanceof Date ? row.last : new Date(`${String(row.last).replace(" ", "T")}Z`);
  const daysBehind = Math.floor((options.now.getTime() - lastPurchaseAt.getTime()) / 86_400_000);
  if (daysBehind <= options.maxDaysBehind) return null;
  const suggestedAsOf = new Date(lastPurchaseAt.getTime() + 86_400_000).toISOString().slice(0, 10);
  const option = options.option ?? "--as-of";
  const so =
    option === "--to"
      ? `so the ${options.maxDaysBehind.toLocaleString("en")} days up to today hold none of it`
      : "so as of today every customer looks lapsed";
  return {
    lastPurchaseAt,
    daysBehind,
    suggestedAsOf,
    message:
      `warning: the newest purchase is from ${lastPurchaseAt.toISOString().slice(0, 10)}, ${daysBehind.toLocaleString("en")} days ago, ` +
      `${so}. If this is historical data, run \`retention ${options.command} ${option} ${suggestedAsOf}\`.`,
  };
}
