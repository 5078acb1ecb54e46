import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { OFFER_CODE_ALPHABET } from "../offers/offer-code";
import { createCampaign } from "./campaign";
import type { ContactPolicy } from "./contact-policy";
import { assignmentHash, planCampaign } from "./plan";
import { insertScoredCustomers, upsertOffers, type FixtureCustomer } from "./test-fixtures";

const NOW = new Date("2026-05-04T12:00:00Z"); // 12:00 UTC: daytime in UTC, night in Tokyo (21:00)
const policy: ContactPolicy = {
  quietHoursStart: 21,
  quietHoursEnd: 9,
  offerCapDays: 14,
  surveyCapDays: 90,
  spacingHours: 24,
  declineCooldownDays: 60,
  businessTimeZone: "UTC",
};
const OFFERS = [
  { key: "cheap", cost: 2, saveProbability: 0.1 },
  { key: "rich", cost: 20, saveProbability: 0.3 },
];

// Deterministic pseudo-random population.
function population(n: number): FixtureCustomer[] {
  return Array.from({ length: n }, (_, i) => ({
    externalId: `p${i}`,
    churnProbability: 0.3 + ((i * 37) % 70) / 100,
    clv: 20 + ((i * 53) % 400),
    linked: i % 10 !== 3,
    consent: i % 25 !== 7,
    timeZone: i % 7 === 0 ? "Asia/Tokyo" : null,
  }));
}

const bestOffer = (p: number, clv: number) => {
  const evs = OFFERS.map((o) => ({ key: o.key, ev: p * o.saveProbability * clv - o.cost }));
  return evs.reduce((a, b) =>
    b.ev > a.ev ||
    (b.ev === a.ev && OFFERS.find((o) => o.key === b.key)!.cost < OFFERS.find((o) => o.key === a.key)!.cost)
      ? b
      : a,
  );
};

describeEachDatabase("campaign planning", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
    await upsertOffers(db, OFFERS);
  });
  afterEach(async () => {
    await db.close();
  });

  it("splits deterministically by seeded hash, excludes opted-out and unlinked with reasons, and picks the EV-best offer", async () => {
    const people = population(2000);
    const { ids } = await insertScoredCustomers(db, people, NOW);
    const created = await createCampaign(
      db,
      {
        name: "win-back",
        offerKeys: ["cheap", "rich"],
        controlShare: 0.2,
        seed: "s1",
        exploreShare: 0,
        targeting: { minRisk: 0.4 },
      },
      { now: NOW },
    );
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const plan = await planCampaign(db, created.value.id, { now: NOW, policy });
    if (!plan.ok) throw new Error(JSON.stringify(plan.error));

    const rows = await db.prisma.campaignAssignment.findMany({
      where: { campaignId: created.value.id },
      include: { offer: true },
    });
    const byCustomer = new Map(rows.map((r) => [r.customerId, r]));
    let eligible = 0;
    const reasons: Record<string, number> = {};
    for (const [i, p] of people.entries()) {
      const row = byCustomer.get(ids[i]!);
      if (p.churnProbability < 0.4) {
        expect(row).toBeUndefined(); // outside targeting: not part of the campaign at all
        continue;
      }
      if (!p.consent) reasons.no_consent = (reasons.no_consent ?? 0) + 1;
      else if (!p.linked) reasons.not_linked = (reasons.not_linked ?? 0) + 1;
      else if (bestOffer(p.churnProbability, p.clv).ev <= 0)
        reasons.no_positive_offer = (reasons.no_positive_offer ?? 0) + 1;
      else {
        expect(row).toBeDefined();
        eligible++;
        expect(row!.group).toBe(assignmentHash("s1", ids[i]!) < 0.2 ? "control" : "treatment");
        expect(row!.offer!.key).toBe(bestOffer(p.churnProbability, p.clv).key);
        expect(row!.expectedValue).toBeCloseTo(bestOffer(p.churnProbability, p.clv).ev, 6);
      }
    }
    // Exclusions are counted by reason, and only the experiment's customers are stored.
    expect(plan.value.excluded).toEqual(reasons);
    expect(rows).toHaveLength(eligible);
    expect(plan.value.treatment + plan.value.control).toBe(eligible);
    const controlShare = plan.value.control / eligible;
    expect(controlShare).toBeGreaterThan(0.16);
    expect(controlShare).toBeLessThan(0.24);

    // Offers and messages only for the treated; the Tokyo customers wait for 9:00 Tokyo.
    const outbox = await db.prisma.outboxMessage.findMany({ where: { campaignId: created.value.id } });
    expect(outbox).toHaveLength(plan.value.treatment);
    const issues = await db.prisma.offerIssue.findMany({ where: { campaignId: created.value.id } });
    expect(issues).toHaveLength(plan.value.treatment);
    // Codes a customer can read out: 8 characters, no 0/O or 1/I/L; the message carries the code
    // and the catalogue's words in every language.
    for (const issue of issues) expect(issue.code).toMatch(new RegExp(`^[${OFFER_CODE_ALPHABET}]{8}$`));
    for (const m of outbox) expect(m.payload).toHaveProperty("translations");
    const treatedIds = new Set(rows.filter((r) => r.group === "treatment").map((r) => r.customerId));
    for (const m of outbox) {
      expect(treatedIds.has(m.customerId!)).toBe(true);
      expect(m.idempotencyKey).toBe(`campaign:${created.value.id}:customer:${m.customerId}:offer`);
      const person = people[ids.indexOf(m.customerId!)]!;
      expect(m.notBefore.toISOString()).toBe(
        person.timeZone === "Asia/Tokyo" ? "2026-05-05T00:00:00.000Z" : NOW.toISOString(),
      );
    }
  });

  it("re-planning assigns nobody twice and adds only new customers", async () => {
    const { ids } = await insertScoredCustomers(db, population(300), NOW);
    const created = await createCampaign(db, { name: "again", offerKeys: ["cheap", "rich"], seed: "s2" }, { now: NOW });
    if (!created.ok) throw new Error("create failed");
    const first = await planCampaign(db, created.value.id, { now: NOW, policy });
    const before = await db.prisma.campaignAssignment.findMany({
      where: { campaignId: created.value.id },
      orderBy: { customerId: "asc" },
    });
    const again = await planCampaign(db, created.value.id, { now: new Date(NOW.getTime() + 3600_000), policy });
    expect(first.ok && again.ok).toBe(true);
    if (!again.ok) return;
    expect(again.value).toMatchObject({ treatment: 0, control: 0, offersIssued: 0, messagesQueued: 0 });
    // the customers left out are looked at again (they may have become eligible), and still are not
    if (first.ok) expect(again.value.excluded).toEqual(first.value.excluded);
    const after = await db.prisma.campaignAssignment.findMany({
      where: { campaignId: created.value.id },
      orderBy: { customerId: "asc" },
    });
    expect(after).toEqual(before);
    // a newly scored customer joins on the next plan
    await insertScoredCustomers(db, [{ externalId: "late", churnProbability: 0.9, clv: 500 }], NOW);
    const third = await planCampaign(db, created.value.id, { now: NOW, policy });
    expect(third.ok && third.value.treatment + third.value.control).toBe(1);
    expect(ids.length).toBe(300);
  });

  it("respects the budget, cutting treatment and control at the same expected value", async () => {
    const people = population(1000);
    const { ids } = await insertScoredCustomers(db, people, NOW);
    const created = await createCampaign(
      db,
      { name: "budget", offerKeys: ["cheap", "rich"], seed: "s3", budget: 500, exploreShare: 0 },
      { now: NOW },
    );
    if (!created.ok) throw new Error("create failed");
    const plan = await planCampaign(db, created.value.id, { now: NOW, policy });
    if (!plan.ok) throw new Error("plan failed");
    expect(plan.value.committedCost).toBeLessThanOrEqual(500);
    expect(plan.value.committedCost).toBeGreaterThan(480); // greedy fills the budget (max offer cost is 20)
    expect(plan.value.excluded.over_budget).toBeGreaterThan(0);
    const rows = await db.prisma.campaignAssignment.findMany({ where: { campaignId: created.value.id } });
    const assigned = new Set(rows.map((r) => r.customerId));
    const inside = rows.map((r) => r.expectedValue!);
    // Eligible customers left out for the budget all have a lower EV than everyone inside.
    const over = people.flatMap((p, i) => {
      const ev = bestOffer(p.churnProbability, p.clv).ev;
      return p.consent && p.linked && ev > 0 && !assigned.has(ids[i]!) ? [ev] : [];
    });
    expect(over.length).toBe(plan.value.excluded.over_budget);
    expect(Math.min(...inside)).toBeGreaterThanOrEqual(Math.max(...over) - 1e-9);
    expect(rows.filter((r) => r.group === "control").length).toBeGreaterThan(0);
  });

  it("rejects unknown offers and invalid targeting", async () => {
    expect(await createCampaign(db, { name: "x", offerKeys: ["nope"] }, { now: NOW })).toEqual({
      ok: false,
      error: { type: "unknown_offers", keys: ["nope"] },
    });
    const bad = await createCampaign(
      db,
      { name: "x", offerKeys: ["cheap"], targeting: { minRisk: 2 } as never },
      { now: NOW },
    );
    expect(bad.ok || bad.error.type).toBe("invalid");
    expect(await planCampaign(db, 999, { now: NOW, policy })).toEqual({
      ok: false,
      error: { type: "not_found", campaignId: 999 },
    });
  });
});
