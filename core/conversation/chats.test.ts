// The bot reads and finishes every update; concurrent reads are one query and concurrent finishes
// one statement (core/db/coalesce.ts). Each update must still get its own chat's snapshot, and
// each finish its own marker and state.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { makeCustomer } from "../staff/test-fixtures";
import { openTicket } from "../tickets/tickets";
import { finishUpdate, loadChat, recordReceived } from "./chats";

const NOW = new Date("2026-11-20T12:00:00Z");

describeEachDatabase("chat snapshots and finishes made at once", (kind) => {
  let db: Database;
  let nextChat = 640_000;
  let nextUpdate = 960_000;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.close();
  });

  const marker = (updateId: number) => ({ source: "telegram", updateId: String(updateId) });

  it("gives each concurrent update its own chat's customer, open ticket, state and marker", async () => {
    const [linked, other] = [nextChat++, nextChat++];
    const unlinked = nextChat++;
    const a = await makeCustomer(db, { telegramChatId: BigInt(linked), name: "Ann" });
    const b = await makeCustomer(db, { telegramChatId: BigInt(other), name: "Bob" });
    const ticket = await openTicket(db, { customerId: b.id, source: "message", text: "Broken", now: NOW });
    const [u1, u2, u3, done] = [nextUpdate++, nextUpdate++, nextUpdate++, nextUpdate++];
    await finishUpdate(db, { marker: marker(done), state: { key: `tg:${other}`, data: { lastRequestAt: "x" } } });

    const snapshots = await Promise.all([
      loadChat(db, { marker: marker(u1), chatId: BigInt(linked), stateKey: `tg:${linked}` }),
      loadChat(db, { marker: marker(u2), chatId: BigInt(other), stateKey: `tg:${other}` }),
      loadChat(db, { marker: marker(u3), chatId: BigInt(unlinked), stateKey: `tg:${unlinked}` }),
      loadChat(db, { marker: marker(done), chatId: BigInt(other), stateKey: `tg:${other}` }),
    ]);
    expect(snapshots.map((s) => [s.customer?.name ?? null, s.customer?.openTicket?.reference ?? null])).toEqual([
      ["Ann", null],
      ["Bob", ticket.reference],
      [null, null],
      ["Bob", ticket.reference],
    ]);
    expect(snapshots.map((s) => s.state)).toEqual([
      undefined,
      { lastRequestAt: "x" },
      undefined,
      { lastRequestAt: "x" },
    ]);
    expect(snapshots.map((s) => s.handled)).toEqual([false, false, false, true]);
    expect(snapshots[0]!.customer?.id).toBe(a.id);
  });

  it("marks each concurrent update handled and stores, keeps or drops each chat's state", async () => {
    const [kept, dropped, unchanged] = [nextChat++, nextChat++, nextChat++];
    const [u1, u2, u3, u4] = [nextUpdate++, nextUpdate++, nextUpdate++, nextUpdate++];
    await recordReceived(
      db,
      "telegram",
      [u1, u2, u3, u4].map((u) => ({ updateId: String(u), payload: { update_id: u } })),
    );
    await finishUpdate(db, { marker: marker(u4), state: { key: `tg:${dropped}`, data: { lastRequestAt: "old" } } });
    await finishUpdate(db, { marker: marker(u4), state: { key: `tg:${unchanged}`, data: { lastRequestAt: "same" } } });

    await Promise.all([
      finishUpdate(db, { marker: marker(u1), state: { key: `tg:${kept}`, data: { lastRequestAt: "new" } } }),
      finishUpdate(db, { marker: marker(u2), state: { key: `tg:${dropped}`, data: null } }),
      finishUpdate(db, { marker: marker(u3) }),
    ]);
    const states = await db.prisma.conversation.findMany({
      where: { key: { in: [kept, dropped, unchanged].map((c) => `tg:${c}`) } },
      orderBy: { key: "asc" },
      select: { key: true, data: true },
    });
    expect(states).toEqual([
      { key: `tg:${kept}`, data: { lastRequestAt: "new" } },
      { key: `tg:${unchanged}`, data: { lastRequestAt: "same" } },
    ]);
    const markers = await db.prisma.processedUpdate.findMany({
      where: { source: "telegram", updateId: { in: [u1, u2, u3].map(String) } },
      select: { handledAt: true, payload: true },
    });
    expect(markers).toHaveLength(3);
    for (const m of markers) expect([m.handledAt !== null, m.payload]).toEqual([true, null]);
  });
});
