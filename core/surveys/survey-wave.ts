// Survey waves: invitations to the NPS question or the SERVQUAL survey for a seeded random sample
// of the customers the contact policy allows, queued in the outbox as `survey_nps` or
// `survey_servqual` with the key `survey:<wave id>:customer:<id>` (so a wave planned twice queues
// once). The dispatcher renders each with its buttons (the NPS scale, or a start button).
import { DateTime } from "luxon";
import type { Database } from "../db/client";
import type { MessageKind } from "../messaging/channel";
import { sqlTimestamp } from "../messaging/outbox";
import {
  contactRefusalSql,
  effectiveTimeZone,
  lockMarketingQueue,
  nextSendableAt,
  type ContactPolicy,
} from "../campaigns/contact-policy";

export const SURVEY_WAVE_KINDS = ["nps", "servqual"] as const;
export type SurveyWaveKind = (typeof SURVEY_WAVE_KINDS)[number];

const MESSAGE_KIND: Record<SurveyWaveKind, MessageKind> = { nps: "survey_nps", servqual: "survey_servqual" };

export interface SurveyWaveOptions {
  now: Date;
  policy: ContactPolicy;
  /** Which survey to invite to; default NPS. */
  kind?: SurveyWaveKind;
  /** Stable id of the wave; default `<kind>-<date in the business time zone>` (one wave per kind and day). */
  waveId?: string;
  /** How many customers to ask at most. */
  sampleSize: number;
  /** Seed for the random sample; default the wave id. */
  seed?: string;
}

export interface SurveyWaveSummary {
  kind: SurveyWaveKind;
  waveId: string;
  /** Customers the contact policy allows to invite now (before this wave's sample). */
  eligible: number;
  queued: number;
}

/** The default wave id: the survey kind and the calendar date in `timeZone`. */
export function defaultWaveId(kind: SurveyWaveKind, now: Date, timeZone: string): string {
  return `${kind}-${DateTime.fromJSDate(now, { zone: timeZone }).toISODate() ?? now.toISOString().slice(0, 10)}`;
}

/**
 * Queues one survey wave. Eligible: whoever the contact policy allows a survey now (linked,
 * consenting, reachable, outside the survey cap and the marketing spacing, counting queued
 * messages). The sample is the `sampleSize` eligible customers with the smallest seeded hash,
 * so it is random but reproducible; a wave planned again only tops up to its sample size.
 * Planners and waves are serialised (`lockMarketingQueue`), so two at once never both pass the
 * caps for one customer. Messages wait for the end of quiet hours in each customer's time zone.
 */
export async function planSurveyWave(db: Database, options: SurveyWaveOptions): Promise<SurveyWaveSummary> {
  const { now, policy } = options;
  const kind = options.kind ?? "nps";
  const messageKind = MESSAGE_KIND[kind];
  const waveId = options.waveId ?? defaultWaveId(kind, now, policy.businessTimeZone);
  const seed = options.seed ?? waveId;
  const refusal = contactRefusalSql(policy, now, { customer: "c", kind: messageKind });

  const zones = await db.prisma.$queryRaw<
    { tz: string | null }[]
  >`SELECT DISTINCT time_zone AS tz FROM customers WHERE telegram_chat_id IS NOT NULL`;
  const zoneNames = zones.map((z) => z.tz ?? "");
  const zoneStarts = zones.map((z) =>
    nextSendableAt(now, effectiveTimeZone(z.tz, policy.businessTimeZone), policy).toISOString(),
  );

  return db.prisma.$transaction(
    async (tx) => {
      await lockMarketingQueue(tx);
      const [{ n: eligible } = { n: 0 }] = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM customers c WHERE ${refusal} IS NULL`;
      const [{ n: already } = { n: 0 }] = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM outbox_messages WHERE idempotency_key LIKE ${`survey:${waveId}:customer:%`}`;
      const limit = Math.max(0, options.sampleSize - already);
      const queued =
        limit === 0
          ? 0
          : await tx.$executeRaw`
        WITH zone AS (SELECT * FROM unnest(${zoneNames}::text[], ${zoneStarts}::text[]) AS z(tz, starts)),
        sample AS (
          SELECT c.id, c.time_zone FROM customers c
          WHERE ${refusal} IS NULL
          ORDER BY md5(${seed} || ':' || c.id::text)
          LIMIT ${limit}
        )
        INSERT INTO outbox_messages (idempotency_key, customer_id, kind, channel, payload, status, not_before, created_at)
        SELECT 'survey:' || ${waveId} || ':customer:' || s.id, s.id, ${messageKind}, 'telegram',
               jsonb_build_object('waveId', ${waveId}::text, 'survey', ${kind}::text),
               'pending', (zone.starts::timestamptz AT TIME ZONE 'UTC'), ${sqlTimestamp(now)}
        FROM sample s JOIN zone ON zone.tz = coalesce(s.time_zone, '')
        ON CONFLICT (idempotency_key) DO NOTHING`;
      return { kind, waveId, eligible, queued };
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
}
