// Fixture builders for staff and assistant tests: small, explicit rows through the ORM.
import type { Database } from "../db/client";

let seq = 0;
const next = () => ++seq;

export interface CustomerFixture {
  externalId?: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  telegramChatId?: bigint | null;
  marketingConsent?: boolean;
  locale?: string;
}

/** Inserts one customer with unique defaults; returns its row. */
export async function makeCustomer(db: Database, overrides: CustomerFixture = {}) {
  const n = next();
  return db.prisma.customer.create({
    data: {
      externalId: overrides.externalId ?? `C${1000 + n}`,
      name: overrides.name === undefined ? `Customer ${n}` : overrides.name,
      email: overrides.email === undefined ? `customer${n}@example.com` : overrides.email,
      phone: overrides.phone === undefined ? `+1555010${String(n).padStart(4, "0")}` : overrides.phone,
      telegramChatId: overrides.telegramChatId ?? null,
      marketingConsent: overrides.marketingConsent ?? true,
      locale: overrides.locale ?? "en",
    },
  });
}

/** Inserts many customers in one statement; `make(i)` gives each one's overrides. Returns rows in order. */
export async function makeCustomers(db: Database, count: number, make: (i: number) => CustomerFixture = () => ({})) {
  const data = Array.from({ length: count }, (_, i) => {
    const o = make(i);
    const n = next();
    return {
      externalId: o.externalId ?? `C${1000 + n}`,
      name: o.name === undefined ? `Customer ${n}` : o.name,
      email: o.email === undefined ? `customer${n}@example.com` : o.email,
      phone: o.phone === undefined ? `+1555010${String(n).padStart(4, "0")}` : o.phone,
      telegramChatId: o.telegramChatId ?? null,
      marketingConsent: o.marketingConsent ?? true,
      locale: o.locale ?? "en",
    };
  });
  const rows = await db.prisma.customer.createManyAndReturn({ data });
  return data.map((d) => rows.find((r) => r.externalId === d.externalId)!);
}

export interface ScoreFixture {
  customerId: number;
  churnProbability: number;
  segment: string;
  clv?: number | null;
  riskBand?: string;
  reasons?: { code: string; text: string; weight?: number }[];
}

/** Inserts a finished scoring run with the given scores; returns the run. */
export async function makeScoreRun(db: Database, asOf: Date, scores: ScoreFixture[]) {
  const run = await db.prisma.scoreRun.create({ data: { asOf, customers: scores.length, finishedAt: asOf } });
  await db.prisma.score.createMany({
    data: scores.map((s) => ({
      runId: run.id,
      customerId: s.customerId,
      asOf,
      churnProbability: s.churnProbability,
      riskBand: s.riskBand ?? (s.churnProbability >= 0.7 ? "high" : s.churnProbability >= 0.4 ? "medium" : "low"),
      clv: s.clv === undefined ? 100 : s.clv,
      segment: s.segment,
      reasons: s.reasons ?? [{ code: "recency", text: "no purchase for 94 days, usually every 21", weight: 1.2 }],
    })),
  });
  return run;
}

/** Inserts purchases for a customer. */
export async function makePurchases(
  db: Database,
  customerId: number,
  purchases: { at: Date; amount: number; category?: string }[],
) {
  await db.prisma.purchase.createMany({
    data: purchases.map((p) => ({
      externalId: `P${next()}`,
      customerId,
      purchasedAt: p.at,
      amount: p.amount,
      category: p.category ?? null,
    })),
  });
}

/** Inserts one feedback row. */
export async function makeFeedback(
  db: Database,
  row: {
    customerId: number | null;
    kind: string;
    score?: number | null;
    comment?: string | null;
    themes?: string[];
    at: Date;
    ticketId?: number;
  },
) {
  return db.prisma.feedback.create({
    data: {
      customerId: row.customerId,
      kind: row.kind,
      score: row.score ?? null,
      comment: row.comment ?? null,
      themes: row.themes ?? [],
      createdAt: row.at,
      ticketId: row.ticketId ?? null,
    },
  });
}
