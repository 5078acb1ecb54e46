import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { linkByPhone } from "./linking";
import { normalisePhone } from "./phone";

it("normalises national and international forms to E.164, and refuses what is not a number", () => {
  expect(normalisePhone("8 (912) 000-11-22", "RU")).toBe("+79120001122");
  expect(normalisePhone("79120001122")).toBe("+79120001122");
  expect(normalisePhone("+44 20 7946 0958")).toBe("+442079460958");
  expect(normalisePhone("020 7946 0958", "GB")).toBe("+442079460958");
  expect(normalisePhone("8 (912) 000-11-22")).toBeNull();
  expect(normalisePhone("call me", "RU")).toBeNull();
  expect(normalisePhone("12", "RU")).toBeNull();
});

describeEachDatabase("linking by a shared contact", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => db?.close());

  it("finds a customer stored in national form from Telegram's international digits", async () => {
    const c = await db.prisma.customer.create({ data: { externalId: "P1", phone: "8 (912) 000-11-22" } });
    await db.prisma.customer.create({ data: { externalId: "P2", phone: "+1 912 000 1122" } });
    const now = new Date("2026-11-20T12:00:00Z");
    const chat = { chatId: 5551n, userId: 5551n };
    expect(await linkByPhone(db, "79120001122", chat, { now, defaultRegion: "RU" })).toEqual({
      ok: true,
      value: { customerId: c.id, status: "linked" },
    });
    expect(
      await linkByPhone(db, "79990001122", { chatId: 5552n, userId: 5552n }, { now, defaultRegion: "RU" }),
    ).toEqual({ ok: false, error: { type: "not_found" } });
  });
});
