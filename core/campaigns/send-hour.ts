// When to send: each customer's best local hour for marketing, learned from when they answer the
// bot (survey answers, complaint and ticket messages, offer buttons) and when they buy (purchases
// that carry a time of day), in the customer's own time zone.
//
// The estimate is a histogram per customer shrunk toward the store's (an add-k prior): for every
// hour h outside quiet hours, score(h) = own events at h + k x the store's share of events at h,
// and the best hour is the highest score. With no history a customer's score is the prior alone:
// the store's best hour. With no store history the prior puts all its weight on the configured
// default hour. Hours inside quiet hours are never chosen.
//
// Learned set-based in SQL by the scoring job (`learnSendHours`): one row per customer with
// history in `customer_send_hours`, the store's hour and histogram in a `trained_models` row of
// kind "send_hour". The dispatcher's send-time check (send-check.ts) holds a marketing message
// until that hour (`sendHourHoldUntil`), never longer than `sendHourMaxHoldHours` after it first
// became due; transactional messages are never held.
import { DateTime } from "luxon";
import { z } from "zod";
import { Prisma, type Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { isQuietHour, type ContactPolicy } from "./contact-policy";

/** Events older than this are left out: habits change. */
export const SEND_HOUR_LOOKBACK_DAYS = 365;

const HOUR_MS = 3_600_000;

export interface SendHourOptions {
  now: Date;
  policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd" | "businessTimeZone">;
  /** The hour used when the store has no history (moved to the end of quiet hours if inside them). */
  defaultHour: number;
  /** k: how many of the store's events one customer's own history is weighed against. */
  priorEvents: number;
}

export interface SendHourSummary {
  modelId: number;
  /** The store's best hour, and whether it was learned or is the configured default. */
  storeHour: number;
  source: "store" | "default";
  /** Events (answers and timed purchases) in the lookback, and customers with any. */
  events: number;
  customers: number;
  /** Customers whose own history moved them off the store's hour. */
  ownHour: number;
}

const sendHourParamsSchema = z.object({
  hour: z.number().int().min(0).max(23),
  source: z.enum(["store", "default"]),
  histogram: z.array(z.number()).length(24),
});

/** The hours outside quiet hours, 0..23. */
export function allowedHours(policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd">): number[] {
  return Array.from({ length: 24 }, (_, h) => h).filter((h) => !isQuietHour(h, policy));
}

/** The default hour, or the first hour after it outside quiet hours. */
export function sendableDefaultHour(
  hour: number,
  policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd">,
): number {
  for (let i = 0; i < 24; i++) if (!isQuietHour((hour + i) % 24, policy)) return (hour + i) % 24;
  return hour;
}

/**
 * The prior over the allowed hours: the store's share of events at each, or, when the store has
 * none there, all weight on the (sendable) default hour. Returns the store's best hour with it.
 */
export function storePrior(
  histogram: readonly number[],
  options: Pick<SendHourOptions, "policy" | "defaultHour">,
): { hours: number[]; prior: number[]; hour: number; source: "store" | "default" } {
  const hours = allowedHours(options.policy);
  const total = hours.reduce((sum, h) => sum + (histogram[h] ?? 0), 0);
  if (total === 0) {
    const hour = sendableDefaultHour(options.defaultHour, options.policy);
    return { hours, prior: hours.map((h) => (h === hour ? 1 : 0)), hour, source: "default" };
  }
  const prior = hours.map((h) => (histogram[h] ?? 0) / total);
  // Ties go to the earlier hour, as in the per-customer choice.
  let best = 0;
  for (let i = 1; i < hours.length; i++) if (prior[i]! > prior[best]!) best = i;
  return { hours, prior, hour: hours[best]!, source: "store" };
}

/**
 * Re-learns every customer's send hour and the store's from the stored answers and timed
 * purchases (the last `SEND_HOUR_LOOKBACK_DAYS` before `now`), set-based: one pass over the
 * events, one statement for the customers. Replaces `customer_send_hours` whole and stores the
 * store's hour as the active `trained_models` row of kind "send_hour". Erased customers are left
 * out. A purchase stored at exactly midnight (UTC or the business zone) is a date without a time
 * (that is how imports store one) and is left out.
 */
export async function learnSendHours(db: Database, options: SendHourOptions): Promise<SendHourSummary> {
  const { now, policy } = options;
  const business = policy.businessTimeZone;
  const since = new Date(now.getTime() - SEND_HOUR_LOOKBACK_DAYS * 24 * HOUR_MS);
  return db.prisma.$transaction(
    async (tx) => {
      // Zones both luxon and PostgreSQL know; any other customer zone reads as the business one
      // (as effectiveTimeZone does), so one bad value never fails the statement.
      const zones = await tx.$queryRaw<{ name: string }[]>`
        SELECT DISTINCT c.time_zone AS name FROM customers c
        JOIN pg_timezone_names z ON z.name = c.time_zone
        WHERE c.time_zone IS NOT NULL`;
      const valid = zones.map((z) => z.name).filter((name) => DateTime.now().setZone(name).isValid);
      const zone = Prisma.sql`CASE WHEN c.time_zone = ANY(${valid}::text[]) THEN c.time_zone ELSE ${business} END`;
      const inWindow = (column: Prisma.Sql) =>
        Prisma.sql`${column} > ${sqlTimestamp(since)} AND ${column} <= ${sqlTimestamp(now)}`;
      await tx.$executeRaw`
        CREATE TEMP TABLE send_hour_hist ON COMMIT DROP AS
        WITH ev AS (
          SELECT f.customer_id, f.created_at AS at FROM feedback f
          WHERE f.customer_id IS NOT NULL AND f.source = 'telegram' AND ${inWindow(Prisma.sql`f.created_at`)}
          UNION ALL
          SELECT t.customer_id, m.created_at FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
          WHERE m.author = 'customer' AND t.customer_id IS NOT NULL AND ${inWindow(Prisma.sql`m.created_at`)}
          UNION ALL
          SELECT i.customer_id, i.responded_at FROM offer_issues i
          WHERE i.responded_at IS NOT NULL AND ${inWindow(Prisma.sql`i.responded_at`)}
          UNION ALL
          SELECT p.customer_id, p.purchased_at FROM purchases p
          WHERE ${inWindow(Prisma.sql`p.purchased_at`)}
            AND p.purchased_at::time <> time '00:00'
            AND ((p.purchased_at AT TIME ZONE 'UTC') AT TIME ZONE ${business})::time <> time '00:00'
        )
        SELECT ev.customer_id, extract(hour FROM (ev.at AT TIME ZONE 'UTC') AT TIME ZONE ${zone})::int AS hour,
               count(*)::int AS n
        FROM ev JOIN customers c ON c.id = ev.customer_id AND c.erased_at IS NULL
        GROUP BY 1, 2`;
      const byHour = await tx.$queryRaw<{ hour: number; n: number; customers: number }[]>`
        SELECT hour, sum(n)::int AS n, count(*)::int AS customers FROM send_hour_hist GROUP BY hour`;
      const histogram = Array.from({ length: 24 }, () => 0);
      for (const row of byHour) histogram[row.hour] = row.n;
      const prior = storePrior(histogram, options);

      await tx.$executeRaw`DELETE FROM customer_send_hours`;
      await tx.$executeRaw`
        INSERT INTO customer_send_hours (customer_id, hour, events, computed_at)
        SELECT DISTINCT ON (t.customer_id) t.customer_id, a.hour, t.events, ${sqlTimestamp(now)}
        FROM (SELECT customer_id, sum(n)::int AS events FROM send_hour_hist GROUP BY 1) t
        CROSS JOIN unnest(${prior.hours}::int[], ${prior.prior}::float8[]) AS a(hour, prior)
        LEFT JOIN send_hour_hist h ON h.customer_id = t.customer_id AND h.hour = a.hour
        ORDER BY t.customer_id, coalesce(h.n, 0) + ${options.priorEvents}::float8 * a.prior DESC, a.prior DESC, a.hour`;
      const [counts] = await tx.$queryRaw<{ customers: number; own: number }[]>`
        SELECT count(*)::int AS customers, count(*) FILTER (WHERE hour <> ${prior.hour})::int AS own
        FROM customer_send_hours`;

      await tx.trainedModel.updateMany({ where: { kind: "send_hour", active: true }, data: { active: false } });
      const events = histogram.reduce((sum, n) => sum + n, 0);
      const row = await tx.trainedModel.create({
        data: {
          kind: "send_hour",
          version: "hour-histogram-v1",
          params: { hour: prior.hour, source: prior.source, histogram },
          metrics: { events, customers: counts?.customers ?? 0, ownHour: counts?.own ?? 0 },
          trainFrom: since,
          trainTo: now,
          active: true,
          createdAt: now,
        },
      });
      return {
        modelId: row.id,
        storeHour: prior.hour,
        source: prior.source,
        events,
        customers: counts?.customers ?? 0,
        ownHour: counts?.own ?? 0,
      };
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
}

/** The store's learned send hour, or null before the scoring job has learned any. */
export async function activeStoreSendHour(db: Database): Promise<number | null> {
  const row = await db.prisma.trainedModel.findFirst({
    where: { kind: "send_hour", active: true },
    orderBy: { id: "desc" },
    select: { params: true },
  });
  if (!row) return null;
  const parsed = sendHourParamsSchema.safeParse(row.params);
  return parsed.success ? parsed.data.hour : null;
}

/**
 * When a marketing message due since `dueAt` should wait for the customer's `sendHour` (local,
 * in `timeZone`), or null when it goes now: no hour known, holding disabled, the hour falls in
 * quiet hours, it is that hour now, or the next one is more than `sendHourMaxHoldHours` after
 * `dueAt`. The hold ends at the start of the hour on the local wall clock.
 */
export function sendHourHoldUntil(
  now: Date,
  timeZone: string,
  sendHour: number | null,
  dueAt: Date,
  policy: Pick<ContactPolicy, "quietHoursStart" | "quietHoursEnd" | "sendHourMaxHoldHours">,
): Date | null {
  const maxHold = policy.sendHourMaxHoldHours ?? 0;
  if (sendHour === null || maxHold <= 0 || isQuietHour(sendHour, policy)) return null;
  const local = DateTime.fromJSDate(now, { zone: timeZone });
  if (local.hour === sendHour) return null;
  const at = (day: DateTime) => day.set({ hour: sendHour, minute: 0, second: 0, millisecond: 0 });
  let target = at(local);
  if (target <= local) target = at(local.plus({ days: 1 }));
  if (target.toMillis() > dueAt.getTime() + maxHold * HOUR_MS) return null;
  return target.toJSDate();
}
