import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { computeMetrics } from "../analytics/metrics";
import { buildWeeklyDigest } from "./digest";
import { claimStaffEvents, completeStaffEvent, failStaffEvent } from "./ticket-desk";
import type { Database } from "../db/client";
import { atRiskCsv, listAtRisk } from "./at-risk";
import { customerProfile, findCustomer } from "./customer-profile";
import { feedbackThemes } from "./feedback-themes";
import { decideStaff } from "./policy";
import { segmentOverview } from "./segments";
import { makeCustomer, makeFeedback, makePurchases, makeScoreRun } from "./test-fixtures";

describeEachDatabase("staff read-side queries", (kind) => {
  let db: Database;
  const ids: number[] = [];
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    for (let i = 0; i < 6; i++) {
      const c = await makeCustomer(db, {
        externalId: `EXT-${i}`,
        name: `Person ${i}`,
        email: `p${i}@Example.com`,
        phone: `+1 555 010 00${i}${i}`,
      });
      ids.push(c.id);
    }
    await makeScoreRun(db, new Date("2026-11-01"), [
      { customerId: ids[0]!, churnProbability: 0.2, segment: "Champions" },
      { customerId: ids[1]!, churnProbability: 0.5, segment: "Champions" },
      { customerId: ids[2]!, churnProbability: 0.8, segment: "At risk" },
      { customerId: ids[3]!, churnProbability: 0.9, segment: "At risk" },
      { customerId: ids[4]!, churnProbability: 0.1, segment: "Loyal" },
    ]);
    await makeScoreRun(db, new Date("2026-11-08"), [
      { customerId: ids[0]!, churnProbability: 0.75, segment: "Champions", clv: 900 },
      { customerId: ids[1]!, churnProbability: 0.72, segment: "At risk", clv: 50 },
      { customerId: ids[2]!, churnProbability: 0.85, segment: "At risk", clv: 300 },
      { customerId: ids[3]!, churnProbability: 0.6, segment: "Hibernating", clv: 10 },
      { customerId: ids[4]!, churnProbability: 0.1, segment: "Loyal", clv: 500 },
      { customerId: ids[5]!, churnProbability: 0.95, segment: "New", clv: null },
    ]);
    await makePurchases(db, ids[0]!, [
      { at: new Date("2026-06-01"), amount: 40 },
      { at: new Date("2026-08-01"), amount: 60.5 },
    ]);
    await makeFeedback(db, {
      customerId: ids[0]!,
      kind: "nps",
      score: 3,
      comment: "Delivery was late, again",
      themes: ["delivery"],
      at: new Date("2026-10-10"),
    });
    await makeFeedback(db, {
      customerId: ids[1]!,
      kind: "complaint",
      comment: "Courier lost my parcel",
      themes: ["delivery", "support"],
      at: new Date("2026-10-12"),
    });
    await makeFeedback(db, {
      customerId: ids[2]!,
      kind: "nps",
      score: 9,
      themes: ["price"],
      at: new Date("2026-10-15"),
    });
    await makeFeedback(db, {
      customerId: ids[2]!,
      kind: "nps",
      score: 9,
      themes: ["price"],
      at: new Date("2026-12-15"),
    });
  });
  afterAll(async () => db?.close());

  it("lists the current run's at-risk customers, filtered and ordered", async () => {
    const all = await listAtRisk(db, { minRisk: 0.7, limit: 2 });
    expect(all.total).toBe(4);
    expect(all.rows.map((r) => r.externalId)).toEqual(["EXT-5", "EXT-2"]);
    const byClv = await listAtRisk(db, { minRisk: 0.7, limit: 10, orderBy: "clv" });
    expect(byClv.rows.map((r) => r.externalId)).toEqual(["EXT-0", "EXT-2", "EXT-1", "EXT-5"]);
    const seg = await listAtRisk(db, { minRisk: 0.7, limit: 10, segment: "at RISK" });
    expect(seg.rows.map((r) => r.externalId)).toEqual(["EXT-2", "EXT-1"]);
    expect(byClv.rows[0]!.lastPurchaseAt?.toISOString()).toBe("2026-08-01T00:00:00.000Z");
    expect(byClv.rows[0]!.reasons[0]!.text).toContain("94 days");
  });

  it("exports the whole filtered list as CSV", async () => {
    const { csv, rows } = await atRiskCsv(db, { minRisk: 0.7 });
    expect(rows).toBe(4);
    const lines = csv.trim().split("\n");
    expect(lines[0]).toMatch(/^external_id,name,email,phone,churn_probability/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toContain("EXT-5");
  });

  it("finds a customer by external id, e-mail or phone and builds the profile", async () => {
    const byId = await findCustomer(db, "EXT-0");
    const byMail = await findCustomer(db, "P0@example.COM");
    const byPhone = await findCustomer(db, "+1 (555) 010-0000");
    for (const r of [byId, byMail, byPhone]) expect(r.ok && r.value.id).toBe(ids[0]);
    expect((await findCustomer(db, "nobody")).ok).toBe(false);
    const profile = await customerProfile(db, ids[0]!);
    expect(profile?.score?.churnProbability).toBe(0.75);
    expect(profile?.score?.clv).toBe(900);
    expect(profile?.purchases).toMatchObject({ count: 2, total: 100.5 });
    expect(profile?.feedback[0]?.comment).toBe("Delivery was late, again");
    expect(profile?.consent.marketing).toBe(true);
  });

  it("reports segment sizes and movement between the last two runs", async () => {
    const o = await segmentOverview(db, { highRisk: 0.7 });
    const atRisk = o.segments.find((s) => s.segment === "At risk");
    expect(atRisk).toMatchObject({ customers: 2, previous: 2, highRisk: 2 });
    expect(o.segments.find((s) => s.segment === "Champions")).toMatchObject({ customers: 1, previous: 2 });
    expect(o.moves).toEqual(
      expect.arrayContaining([
        { from: "Champions", to: "At risk", customers: 1 },
        { from: "At risk", to: "Hibernating", customers: 1 },
      ]),
    );
    // previous high: EXT-2, EXT-3; now: EXT-0, EXT-1, EXT-2, EXT-5
    expect(o.highRisk).toEqual({ current: 4, previous: 2, newlyHigh: 2, noLongerHigh: 1 });
  });

  it("counts feedback themes in a period with quotes", async () => {
    const t = await feedbackThemes(db, { from: new Date("2026-10-01"), to: new Date("2026-11-01") });
    expect(t.answers).toBe(3);
    expect(t.themes[0]).toEqual({ theme: "delivery", mentions: 2, avgNps: 3, complaints: 1 });
    expect(t.quotes.map((q) => q.comment)).toEqual(["Courier lost my parcel", "Delivery was late, again"]);
    const support = await feedbackThemes(db, {
      from: new Date("2026-10-01"),
      to: new Date("2026-11-01"),
      theme: "Support",
    });
    expect(support.quotes).toHaveLength(1);
  });

  it("claims staff events under a lease, keeps them until done, and backs off failed ones", async () => {
    const at = new Date("2026-11-20T10:00:00Z");
    const later = (ms: number) => new Date(at.getTime() + ms);
    for (const type of ["ticket_opened", "other", "nps_detractor"])
      await db.prisma.staffEvent.create({ data: { type, payload: { ticketId: 1 }, createdAt: at } });
    const types = ["ticket_opened", "nps_detractor"];
    const first = await claimStaffEvents(db, { types, limit: 10, now: at, leaseMs: 60_000 });
    expect(first.map((e) => e.type)).toEqual(["ticket_opened", "nps_detractor"]);
    // Held by the first poster: nobody else takes them during the lease.
    expect(await claimStaffEvents(db, { types, limit: 10, now: later(59_000) })).toEqual([]);
    await completeStaffEvent(db, first[0]!.id, later(1_000));
    // The poster died holding the second: after the lease another poster takes it.
    const retaken = await claimStaffEvents(db, { types, limit: 10, now: later(61_000), leaseMs: 60_000 });
    expect(retaken.map((e) => e.id)).toEqual([first[1]!.id]);
    // A failed post backs off (second attempt: 10 s) instead of being retried at once.
    const retryAt = await failStaffEvent(db, first[1]!.id, { now: later(62_000), error: "not_in_channel" });
    expect(retryAt).toEqual(later(72_000));
    expect(await claimStaffEvents(db, { types, limit: 10, now: later(71_000) })).toEqual([]);
    expect((await claimStaffEvents(db, { types, limit: 10, now: later(72_000) })).map((e) => e.id)).toEqual([
      first[1]!.id,
    ]);
    const rows = await db.prisma.staffEvent.findMany({ where: { type: { in: types } }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.processedAt !== null, r.attempts])).toEqual([
      [true, 1],
      [false, 3],
    ]);
  });

  it("builds the weekly digest with the week's NPS as computeMetrics has it", async () => {
    const now = new Date("2026-10-19T09:00:00Z");
    const d = await buildWeeklyDigest(db, { now, riskHigh: 0.7, defaultGrossMargin: 0.3, currency: "USD", weeks: 4 });
    const m = await computeMetrics(db, { from: new Date("2026-10-12"), to: new Date("2026-10-19") });
    expect(d.npsWeeks).toHaveLength(4);
    expect(d.npsWeeks.at(-1)).toMatchObject({ nps: m.nps.nps, respondents: m.nps.respondents });
    expect(m.nps.respondents).toBe(1); // only the 9 of 2026-10-15; the 3 of 2026-10-10 is the week before
    expect(d.npsWeeks.at(-2)).toMatchObject({ detractors: 1, respondents: 1 });
    expect(d.lines.join("\n")).toContain(
      "*At risk*: 4 customers at high risk (+2 since the run before: 2 newly high, 1 recovered)",
    );
  });

  it("decides who is staff", () => {
    const policy = { channel: "CSTAFF", users: ["U1"], usergroup: "S1" };
    expect(decideStaff(policy, { userId: "U1" }).allowed).toBe(true);
    expect(decideStaff(policy, { userId: "U2", channelId: "CSTAFF" }).allowed).toBe(true);
    expect(decideStaff(policy, { userId: "U3", usergroupMembers: ["U3"] }).allowed).toBe(true);
    expect(decideStaff(policy, { userId: "U4", channelId: "COTHER", usergroupMembers: ["U3"] })).toEqual({
      allowed: false,
      reason: "not_staff",
    });
    expect(decideStaff({ users: [] }, { userId: "U1" })).toEqual({ allowed: false, reason: "not_configured" });
  });
});
