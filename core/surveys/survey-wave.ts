// NPS survey waves: a seeded random sample of linked, consenting, reachable customers who have
// not had a survey within the survey cap, queued in the outbox as `survey_nps` with the key
// `survey:<wave id>:customer:<id>` (so a wave planned twice queues once).
import { DateTime } from "luxon";
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { effectiveTimeZone, nextSendableAt, type ContactPolicy } from "../campaigns/contact-policy";

export interface SurveyWaveOptions {
  now: Date;
  policy: ContactPolicy;
  /** Stable id of the wave; default the date in the business time zone (one wave per day). */
  waveId?: string;
  /** How many customers to ask at most. */
  sampleSize: number;
  /** Seed for the random sample; default the wave id. */
  seed?: string;
}

export interface SurveyWaveSummary {
  waveId: string;
  eligible: number;
  queued: number;
}

/** The default wave id: the calendar date in `timeZone`. */
export function defaultWaveId(now: Date, timeZone: string): string {
  return DateTime.fromJSDate(now, { zone: timeZone }).toISODate() ?? now.toISOString().slice(0, 10);
}

/**
 * Queues one NPS survey wave. Eligible: linked to Telegram, marketing consent, not opted out,
 * reachable, not erased, no survey sent within `policy.surveyCapDays` and none already queued.
 * The sample is the `sampleSize` customers with the smallest seeded hash, so it is random but
 * reproducible. Messages wait for the end of quiet hours in each customer's time zone.
 */
export async function planSurveyWave(db: Database, options: SurveyWaveOptions): Promise<SurveyWaveSummary> {
  const { now, policy } = options;
  const waveId = options.waveId ?? defaultWaveId(now, policy.businessTimeZone);
  const seed = options.seed ?? waveId;
  const capFrom = sqlTimestamp(new Date(now.getTime() - policy.surveyCapDays * 86_400_000));
  const eligibleWhere = db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM customers c
    WHERE c.telegram_chat_id IS NOT NULL AND c.marketing_consent AND c.opted_out_at IS NULL
      AND c.unreachable_at IS NULL AND c.erased_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox_messages m WHERE m.customer_id = c.id AND m.kind IN ('survey_nps', 'survey_servqual')
                      AND ((m.status = 'sent' AND m.sent_at > ${capFrom}) OR m.status IN ('pending', 'claimed', 'sending')))`;
  const [{ n: eligible } = { n: 0 }] = await eligibleWhere;

  // A wave planned again only tops up to its sample size: the sample is the wave's, not the call's.
  const [{ n: already } = { n: 0 }] = await db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM outbox_messages WHERE idempotency_key LIKE ${`survey:${waveId}:customer:%`}`;
  const limit = Math.max(0, options.sampleSize - already);
  const zones = await db.prisma.$queryRaw<
    { tz: string | null }[]
  >`SELECT DISTINCT time_zone AS tz FROM customers WHERE telegram_chat_id IS NOT NULL`;
  const zoneNames = zones.map((z) => z.tz ?? "");
  const zoneStarts = zones.map((z) =>
    nextSendableAt(now, effectiveTimeZone(z.tz, policy.businessTimeZone), policy).toISOString(),
  );
  const queued = await db.prisma.$executeRaw`
    WITH zone AS (SELECT * FROM unnest(${zoneNames}::text[], ${zoneStarts}::text[]) AS z(tz, starts)),
    sample AS (
      SELECT c.id, c.time_zone FROM customers c
      WHERE c.telegram_chat_id IS NOT NULL AND c.marketing_consent AND c.opted_out_at IS NULL
        AND c.unreachable_at IS NULL AND c.erased_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM outbox_messages m WHERE m.customer_id = c.id AND m.kind IN ('survey_nps', 'survey_servqual')
                        AND ((m.status = 'sent' AND m.sent_at > ${capFrom}) OR m.status IN ('pending', 'claimed', 'sending')))
      ORDER BY md5(${seed} || ':' || c.id::text)
      LIMIT ${limit}
    )
    INSERT INTO outbox_messages (idempotency_key, customer_id, kind, channel, payload, status, not_before, created_at)
    SELECT 'survey:' || ${waveId} || ':customer:' || s.id, s.id, 'survey_nps', 'telegram', jsonb_build_object('waveId', ${waveId}::text),
           'pending', (zone.starts::timestamptz AT TIME ZONE 'UTC'), ${sqlTimestamp(now)}
    FROM sample s JOIN zone ON zone.tz = coalesce(s.time_zone, '')
    ON CONFLICT (idempotency_key) DO NOTHING`;
  return { waveId, eligible, queued };
}
