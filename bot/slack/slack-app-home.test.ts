// The Home tab: opening it publishes the at-risk count and its movement, open tickets by age and
// the weekly NPS with answer counts, computed from the store with erased customers left out;
// someone outside the staff sees only a short explanation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../core/db/client";
import { makeCustomer, makeFeedback, makeScoreRun } from "../../core/staff/test-fixtures";
import { openTicket, resolveTicket } from "../../core/tickets/tickets";
import { DryRunChannel } from "../../core/messaging/dry-run-channel";
import { silentLogger } from "../../core/log";
import { createTestDatabase } from "../../test/helpers/db";
import { STAFF_ONLY_TEXT } from "./staff-guard";
import { STAFF_USER, startSlackHarness, type SlackHarness } from "./testing/harness";

const clock = new Date("2026-11-20T12:00:00Z");
const ago = (hours: number) => new Date(clock.getTime() - hours * 3_600_000);

describe("App Home tab [pglite]", () => {
  let db: Database;
  let h: SlackHarness;

  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    h = await startSlackHarness({ db, now: () => clock, env: { RISK_HIGH: "0.7" } });
    const [a, b, c, d, e] = await Promise.all(
      ["H-A", "H-B", "H-C", "H-D", "H-E"].map((externalId) => makeCustomer(db, { externalId })),
    );
    const erased = d!;
    await makeScoreRun(db, ago(24 * 8), [
      { customerId: a!.id, churnProbability: 0.9, segment: "At risk" },
      { customerId: b!.id, churnProbability: 0.8, segment: "At risk" },
      { customerId: c!.id, churnProbability: 0.2, segment: "Loyal" },
    ]);
    await makeScoreRun(db, ago(24), [
      { customerId: a!.id, churnProbability: 0.9, segment: "At risk" },
      { customerId: b!.id, churnProbability: 0.85, segment: "At risk" },
      { customerId: c!.id, churnProbability: 0.75, segment: "At risk" },
      { customerId: erased.id, churnProbability: 0.95, segment: "At risk" },
      { customerId: e!.id, churnProbability: 0.1, segment: "Champions" },
    ]);
    const ticket = (customerId: number, hoursAgo: number) =>
      openTicket(db, { customerId, source: "complaint", text: "help", now: ago(hoursAgo) });
    await ticket(a!.id, 0.2);
    await ticket(b!.id, 5);
    await ticket(c!.id, 72);
    const done = await ticket(e!.id, 2);
    await resolveTicket(db, done.id, { channel: new DryRunChannel(silentLogger), now: ago(1) });
    await ticket(erased.id, 0.5);
    for (const score of [10, 9, 3]) await makeFeedback(db, { customerId: a!.id, kind: "nps", score, at: ago(24) });
    await makeFeedback(db, { customerId: b!.id, kind: "nps", score: 10, at: ago(24 * 9) });
    await makeFeedback(db, { customerId: erased.id, kind: "nps", score: 0, at: ago(24) });
    await db.prisma.customer.update({ where: { id: erased.id }, data: { erasedAt: ago(2) } });
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  const open = async (user: string) => {
    const before = h.slack.callsOf("views.publish").length;
    await h.event({ type: "app_home_opened", user, channel: `D${user}`, tab: "home", event_ts: "1800000000.000100" });
    const published = (await h.slack.waitFor("views.publish", before + 1))[before]!.body;
    expect(published.user_id).toBe(user);
    return JSON.stringify((published.view as { type: string; blocks: unknown[] }).blocks);
  };

  it("publishes the at-risk movement, open tickets by age and weekly NPS for staff", async () => {
    const view = await open(STAFF_USER);
    // 3 at high risk now (the erased customer is not counted), 2 in the previous run.
    expect(view).toContain("*3* customers at high risk (churn ≥ 70%), +1 since the previous run (2)");
    // Open: 12 minutes old, 5 hours, 3 days; the resolved one and the erased customer's are left out.
    expect(view).toContain("*3* open tickets: *1* under 1 hour old, *1* under 24 hours, *1* older");
    // Last week: 10, 9 and 3 (the erased customer's 0 left out); the week before: one 10.
    expect(view).toContain("NPS 33.3 from 3 answers");
    expect(view).toContain("NPS 100.0 from 1 answer");
    expect(view).toContain("no answers");
    expect(view).not.toContain("H-A");
  });

  it("shows someone outside the staff a short explanation and no numbers", async () => {
    const view = await open("UOUTSIDER");
    expect(view).toContain(STAFF_ONLY_TEXT);
    expect(view).not.toContain("at high risk");
  });
});
