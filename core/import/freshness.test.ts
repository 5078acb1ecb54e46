import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { staleHistory } from "./freshness";
import { ensureCustomers, upsertPurchases } from "./store";

describeEachDatabase("stale history", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(() => db?.close());

  it("is silent without purchases, warns with the --as-of to use when the newest purchase is far behind the clock", async () => {
    const now = new Date("2026-12-02T10:00:00Z");
    expect(await staleHistory(db, { now, maxDaysBehind: 90, command: "score" })).toBeNull();
    await ensureCustomers(db.prisma, ["h1"]);
    await upsertPurchases(db.prisma, [
      { externalId: "h-1", customerExternalId: "h1", purchasedAt: new Date("2011-12-09T12:50:00Z"), amount: 10 },
    ]);
    const stale = await staleHistory(db, { now, maxDaysBehind: 90, command: "score" });
    expect(stale?.suggestedAsOf).toBe("2011-12-10");
    expect(stale?.message).toMatch(/newest purchase is from 2011-12-09.*retention score --as-of 2011-12-10/);
    // metrics up to today over 90 days: none of that history falls in them; --to takes it.
    const metrics = await staleHistory(db, { now, maxDaysBehind: 90, command: "metrics", option: "--to" });
    expect(metrics?.message).toMatch(/the 90 days up to today hold none of it.*retention metrics --to 2011-12-10/);
    // recent history: no warning
    expect(
      await staleHistory(db, { now: new Date("2012-01-15T00:00:00Z"), maxDaysBehind: 90, command: "score" }),
    ).toBeNull();
  });
});
