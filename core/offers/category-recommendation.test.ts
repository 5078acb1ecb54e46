// Category suggestions by co-purchase, on synthetic stores with and without a signal, carried
// into a claimed offer's context and its text in both languages.
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { withOfferContext } from "../campaigns/offer-context-batch";
import { insertScoredCustomers } from "../campaigns/test-fixtures";
import type { Database } from "../db/client";
import { claimDueMessages, enqueueMessages } from "../messaging/outbox";
import { renderMessage } from "../messaging/render";
import { learnCategoryAssociations, recommendCategories } from "./category-recommendation";
import { loadOfferContext } from "./offer-context";

const NOW = new Date("2026-06-01T12:00:00Z");
const DAY = 86_400_000;

/** Customers named by key, each buying the listed categories `daysAgo` before NOW. */
async function store(db: Database, buyers: Record<string, [category: string, daysAgo: number][]>) {
  const names = Object.keys(buyers);
  const { ids } = await insertScoredCustomers(
    db,
    names.map((externalId) => ({ externalId, churnProbability: 0.8, clv: 100 })),
    NOW,
  );
  const id = Object.fromEntries(names.map((n, i) => [n, ids[i]!]));
  await db.prisma.purchase.createMany({
    data: names.flatMap((n) =>
      buyers[n]!.map(([category, daysAgo], k) => ({
        externalId: `${n}-${k}`,
        customerId: id[n]!,
        purchasedAt: new Date(NOW.getTime() - daysAgo * DAY + 3_600_000),
        amount: 30,
        category,
      })),
    ),
  });
  return id;
}

const repeat = <T>(n: number, f: (i: number) => [string, T]) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => f(i)));

describeEachDatabase("category recommendation", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("suggests to a Tools-only buyer what Tools buyers also buy, in the offer and its text", async () => {
    const id = await store(db, {
      ...repeat(12, (i) => [
        `both${i}`,
        [
          ["Tools", 40],
          ["Garden", 20],
        ],
      ]),
      ...repeat(12, (i) => [`kitchen${i}`, [["Kitchen", 30]]]),
      toolsOnly: [["Tools", 10]],
      kitchenOnly: [["Kitchen", 10]],
      // Bought Garden a month before their last order: recent, so nothing new to suggest.
      recentGarden: [
        ["Tools", 60],
        ["Garden", 40],
      ],
      // Bought Garden two years before their last order: long ago, so suggested again.
      oldGarden: [
        ["Garden", 900],
        ["Tools", 100],
      ],
    });
    expect(await learnCategoryAssociations(db, { now: NOW })).toEqual({ categories: 3, pairs: 2 });
    const pair = await db.prisma.categoryAssociation.findUniqueOrThrow({
      where: { category_other: { category: "Tools", other: "Garden" } },
    });
    // Of 28 customers, 15 bought Tools, 14 Garden, 14 both (7.5 expected by chance).
    expect(pair.customers).toBe(14);
    expect(pair.lift).toBeCloseTo((14 * 28) / (15 * 14), 6);
    expect(pair.cosine).toBeCloseTo(14 / Math.sqrt(15 * 14), 6);

    const picks = await recommendCategories(db, [id.toolsOnly!, id.kitchenOnly!, id.recentGarden!, id.oldGarden!]);
    expect(Object.fromEntries(picks)).toEqual({ [id.toolsOnly!]: "Garden", [id.oldGarden!]: "Garden" });
    expect((await loadOfferContext(db, id.toolsOnly!)).recommendedCategory).toBe("Garden");

    // The dispatcher's batch context carries it, and the text says it in the customer's language.
    await db.prisma.customer.update({ where: { id: id.oldGarden! }, data: { locale: "ru" } });
    await enqueueMessages(
      db,
      [id.toolsOnly!, id.oldGarden!, id.kitchenOnly!].map((customerId) => ({
        idempotencyKey: `offer:${customerId}`,
        customerId,
        kind: "offer" as const,
        payload: { offerIssueId: 1, title: "15% off" },
      })),
      { now: NOW },
    );
    const batch = await withOfferContext(
      db,
      await claimDueMessages(db, { limit: 10, workerId: "w", now: NOW, leaseMs: 60_000 }),
    );
    const text = async (customerId: number) => {
      const message = batch.find((m) => m.customerId === customerId)!;
      return (await renderMessage(message, { locale: message.locale })).text;
    };
    expect(await text(id.toolsOnly!)).toContain('Something new for you in our "Garden" section.');
    expect(await text(id.oldGarden!)).toContain("Для вас есть кое-что новое в разделе «Garden».");
    const kitchen = batch.find((m) => m.customerId === id.kitchenOnly)!;
    expect(kitchen.payload.recommendedCategory).toBeNull();
    expect(await text(id.kitchenOnly!)).not.toContain("Something new");
  });

  it("suggests nothing where buying one category says nothing about another", async () => {
    // Tools and Garden bought together exactly as often as chance would have it (lift 1).
    const id = await store(db, {
      ...repeat(4, (i) => [
        `both${i}`,
        [
          ["Tools", 40],
          ["Garden", 20],
        ],
      ]),
      ...repeat(4, (i) => [`tools${i}`, [["Tools", 30]]]),
      ...repeat(4, (i) => [`garden${i}`, [["Garden", 30]]]),
      ...repeat(4, (i) => [`kitchen${i}`, [["Kitchen", 30]]]),
    });
    expect(await learnCategoryAssociations(db, { now: NOW })).toEqual({ categories: 3, pairs: 0 });
    const picks = await recommendCategories(db, [id.tools0!, id.garden0!, id.kitchen0!]);
    expect(picks.size).toBe(0);
  });
});
