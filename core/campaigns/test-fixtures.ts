// Fixture builders for campaign tests, demo and benchmarks: customers with scores in one new
// score run, and an offer catalogue. Set-based, so they also build large populations.
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";

export interface FixtureCustomer {
  externalId: string;
  churnProbability: number;
  clv: number;
  riskBand?: string;
  segment?: string;
  linked?: boolean;
  consent?: boolean;
  timeZone?: string | null;
}

/** Inserts customers and one finished score run with their scores. Returns ids in input order. */
export async function insertScoredCustomers(
  db: Database,
  rows: FixtureCustomer[],
  asOf: Date,
): Promise<{ ids: number[]; runId: number }> {
  const ids = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO customers (external_id, telegram_chat_id, marketing_consent, time_zone, locale, updated_at)
    SELECT e, CASE WHEN l THEN ('x' || substr(md5(e), 1, 12))::bit(48)::bigint END, m, tz, 'en', now()
    FROM unnest(${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.linked ?? true)}::bool[],
                ${rows.map((r) => r.consent ?? true)}::bool[], ${rows.map((r) => r.timeZone ?? null)}::text[])
      WITH ORDINALITY AS x(e, l, m, tz, ord)
    ORDER BY ord
    RETURNING id`;
  const [run] = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO score_runs (as_of, customers, started_at, finished_at) VALUES (${sqlTimestamp(asOf)}, ${rows.length}, ${sqlTimestamp(asOf)}, ${sqlTimestamp(asOf)}) RETURNING id`;
  const band = (p: number) => (p >= 0.7 ? "high" : p >= 0.4 ? "medium" : "low");
  await db.prisma.$executeRaw`
    INSERT INTO scores (run_id, customer_id, as_of, churn_probability, risk_band, clv, segment)
    SELECT ${run!.id}, id, ${sqlTimestamp(asOf)}, p, rb, clv, seg
    FROM unnest(${ids.map((r) => r.id)}::int[], ${rows.map((r) => r.churnProbability)}::float8[],
                ${rows.map((r) => r.riskBand ?? band(r.churnProbability))}::text[], ${rows.map((r) => r.clv)}::float8[],
                ${rows.map((r) => r.segment ?? "At risk")}::text[]) AS x(id, p, rb, clv, seg)`;
  return { ids: ids.map((r) => r.id), runId: run!.id };
}

export interface FixtureOffer {
  key: string;
  cost: number;
  saveProbability: number;
  value?: number;
  validDays?: number;
}

/** Inserts (or updates) offers in the catalogue. */
export async function upsertOffers(db: Database, offers: FixtureOffer[]): Promise<void> {
  for (const o of offers) {
    await db.prisma.offer.upsert({
      where: { key: o.key },
      create: {
        key: o.key,
        title: o.key,
        kind: "percent_off",
        value: o.value ?? 10,
        cost: o.cost,
        saveProbability: o.saveProbability,
        validDays: o.validDays ?? 14,
      },
      update: { cost: o.cost, saveProbability: o.saveProbability },
    });
  }
}
