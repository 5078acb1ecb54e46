import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../test/helpers/db";
import { reasonText } from "../analytics/reasons";
import type { Database } from "../db/client";
import { loadOfferContext } from "../offers/offer-context";
import { listAtRisk } from "./at-risk";
import { customerProfile } from "./customer-profile";
import { makeCustomer, makeScoreRun, type ScoreFixture } from "./test-fixtures";

// A reason as scoring stores it: code, weight, then its numbers (94 days since, usually every 21).
const stored = [["overdue", 1.2, 94, 21]] as unknown as ScoreFixture["reasons"];
const english = reasonText("overdue", [94, 21], "en");
const russian = reasonText("overdue", [94, 21], "ru");

describe("reasons are worded in the reader's language", () => {
  let db: Database;
  let customerId: number;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    customerId = (await makeCustomer(db, { locale: "ru" })).id;
    await makeScoreRun(db, new Date("2026-11-01"), [
      { customerId, churnProbability: 0.9, segment: "At Risk", reasons: stored },
    ]);
  });
  afterAll(async () => db?.close());

  it("has two different wordings to tell apart", () => {
    expect(russian).not.toBe(english);
    expect(russian).toContain("94");
  });

  it("an offer's context speaks the customer's language", async () => {
    expect((await loadOfferContext(db, customerId)).reasons[0]!.text).toBe(russian);
  });

  it("staff views speak the staff's language, whatever the customer's", async () => {
    const list = await listAtRisk(db, { minRisk: 0.5, limit: 5, locale: "en" });
    expect(list.rows[0]!.reasons[0]!.text).toBe(english);
    expect((await listAtRisk(db, { minRisk: 0.5, limit: 5, locale: "ru" })).rows[0]!.reasons[0]!.text).toBe(russian);
    const profile = await customerProfile(db, customerId, { locale: "en" });
    expect(profile!.score!.reasons[0]!.text).toBe(english);
  });
});
