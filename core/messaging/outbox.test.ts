import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { MessageChannel, OutboundMessage, SendResult } from "./channel";
import {
  claimDueMessages,
  deferMessage,
  enqueueMessages,
  markSending,
  recordSendResult,
  renewClaims,
  sendNow,
  settleInDoubt,
} from "./outbox";

const T0 = new Date("2026-03-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

async function makeCustomers(db: Database, n: number, chat = true): Promise<number[]> {
  const rows = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO customers (external_id, telegram_chat_id, locale, updated_at)
    SELECT 'c' || g || '-' || md5(random()::text), CASE WHEN ${chat} THEN 1000000 + g + floor(random() * 1e9)::bigint END, 'en', now()
    FROM generate_series(1, ${n}) g RETURNING id`;
  return rows.map((r) => r.id);
}

class ScriptedChannel implements MessageChannel {
  readonly name = "scripted";
  sent: OutboundMessage[] = [];
  constructor(
    private readonly answer: (m: OutboundMessage) => SendResult = (m) => ({ ok: true, providerId: `p${m.outboxId}` }),
  ) {}
  async send(message: OutboundMessage): Promise<SendResult> {
    this.sent.push(message);
    return this.answer(message);
  }
}

describeEachDatabase("outbox", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("enqueues in bulk and ignores keys already present", async () => {
    const ids = await makeCustomers(db, 3);
    const rows = ids.map((id) => ({
      idempotencyKey: `k:${id}`,
      customerId: id,
      kind: "offer" as const,
      payload: { n: id },
    }));
    expect(await enqueueMessages(db, rows, { now: T0 })).toEqual({ inserted: 3, duplicates: 0 });
    expect(await enqueueMessages(db, [...rows, { ...rows[0]!, idempotencyKey: "new" }], { now: T0 })).toEqual({
      inserted: 1,
      duplicates: 3,
    });
  });

  it("claims due rows once, joins the chat, and never hands one row to two workers", async () => {
    const ids = await makeCustomers(db, 10);
    await enqueueMessages(
      db,
      ids.map((id, i) => ({
        idempotencyKey: `k:${id}`,
        customerId: id,
        kind: "offer" as const,
        payload: {},
        notBefore: i < 8 ? T0 : at(3600_000),
      })),
      { now: T0 },
    );
    const [a, b] = await Promise.all([
      claimDueMessages(db, { limit: 5, workerId: "a", now: T0, leaseMs: 60_000 }),
      claimDueMessages(db, { limit: 5, workerId: "b", now: T0, leaseMs: 60_000 }),
    ]);
    const all = [...a, ...b].map((m) => m.outboxId);
    expect(all.length).toBe(8); // 2 are not due yet
    expect(new Set(all).size).toBe(8);
    expect(a[0]!.chatId).toEqual(expect.any(BigInt));
    expect(a[0]!.attempts).toBe(1);
    // nothing left that is due
    expect(await claimDueMessages(db, { limit: 50, workerId: "c", now: T0, leaseMs: 60_000 })).toHaveLength(0);
  });

  it("takes over an expired claim, and settles in-doubt sends by kind", async () => {
    const [c1, c2, c3] = await makeCustomers(db, 3);
    await enqueueMessages(
      db,
      [
        { idempotencyKey: "claimed", customerId: c1!, kind: "offer", payload: {} },
        { idempotencyKey: "offer-in-flight", customerId: c2!, kind: "offer", payload: {} },
        { idempotencyKey: "reply-in-flight", customerId: c3!, kind: "ticket_reply", payload: {} },
      ],
      { now: T0 },
    );
    const claimed = await claimDueMessages(db, { limit: 10, workerId: "dead", now: T0, leaseMs: 60_000 });
    for (const m of claimed.filter((m) => m.idempotencyKey !== "claimed"))
      expect(await markSending(db, m, { now: T0 })).toBe(true);
    // before the lease expires nobody else gets them
    expect(await claimDueMessages(db, { limit: 10, workerId: "w2", now: at(30_000), leaseMs: 60_000 })).toHaveLength(0);
    const later = at(61_000);
    const taken = await claimDueMessages(db, { limit: 10, workerId: "w2", now: later, leaseMs: 60_000 });
    expect(taken.map((m) => m.idempotencyKey).sort()).toEqual(["claimed", "reply-in-flight"]);
    const status = await db.prisma.outboxMessage.findUnique({ where: { idempotencyKey: "offer-in-flight" } });
    expect(status).toMatchObject({ status: "failed", lastError: "in_doubt" });
    // the dead worker's late result is refused
    const stale = claimed.find((m) => m.idempotencyKey === "claimed")!;
    expect(await markSending(db, stale, { now: later })).toBe(false);
    expect(await settleInDoubt(db, { now: later, leaseMs: 60_000 })).toEqual({ abandoned: 0, requeued: 0 });
  });

  it("never settles the claiming worker's own in-flight rows, and renewed leases keep others off", async () => {
    const [c1, c2] = await makeCustomers(db, 2);
    await enqueueMessages(
      db,
      [
        { idempotencyKey: "own-offer", customerId: c1!, kind: "offer", payload: {} },
        { idempotencyKey: "own-reply", customerId: c2!, kind: "ticket_reply", payload: {} },
      ],
      { now: T0 },
    );
    const mine = await claimDueMessages(db, { limit: 10, workerId: "live", now: T0, leaseMs: 10_000 });
    for (const m of mine) expect(await markSending(db, m, { now: T0 })).toBe(true);
    // The same worker claims again long after its lease: its own rows in flight stay untouched.
    await claimDueMessages(db, { limit: 10, workerId: "live", now: at(30_000), leaseMs: 10_000 });
    const own = await db.prisma.outboxMessage.findMany({ where: { idempotencyKey: { startsWith: "own-" } } });
    expect(own.map((r) => r.status)).toEqual(["sending", "sending"]);
    // Renewed, nobody else settles them either; the result then lands as sent.
    expect(await renewClaims(db, "live", { now: at(30_000) })).toBe(2);
    await claimDueMessages(db, { limit: 10, workerId: "other", now: at(35_000), leaseMs: 10_000 });
    for (const m of mine)
      expect(await recordSendResult(db, m, { ok: true, providerId: "1" }, { now: at(36_000) })).toBe("sent");
  });

  it("abandons an in-doubt offer and re-sends an in-doubt reply; a message never sent costs no attempt", async () => {
    const [c1, c2, c3] = await makeCustomers(db, 3);
    await enqueueMessages(
      db,
      [
        { idempotencyKey: "doubt-offer", customerId: c1!, kind: "offer", payload: {} },
        { idempotencyKey: "doubt-reply", customerId: c2!, kind: "ticket_reply", payload: {} },
        { idempotencyKey: "not-sent", customerId: c3!, kind: "offer", payload: {} },
      ],
      { now: T0 },
    );
    const claimed = await claimDueMessages(db, { limit: 10, workerId: "w", now: T0, leaseMs: 10_000 });
    const byKey = new Map(claimed.map((m) => [m.idempotencyKey, m]));
    for (const m of claimed) await markSending(db, m, { now: T0 });
    const cut: SendResult = { ok: false, retryable: true, inDoubt: true, error: "network: reset" };
    expect(await recordSendResult(db, byKey.get("doubt-offer")!, cut, { now: at(1000) })).toBe("failed");
    expect(await recordSendResult(db, byKey.get("doubt-reply")!, cut, { now: at(1000) })).toBe("retry");
    const waited: SendResult = { ok: false, retryable: true, notSent: true, retryAfterMs: 2000, error: "not sent" };
    expect(await recordSendResult(db, byKey.get("not-sent")!, waited, { now: at(1000) })).toBe("retry");
    const rows = new Map(
      (await db.prisma.outboxMessage.findMany({ where: { idempotencyKey: { in: [...byKey.keys()] } } })).map((r) => [
        r.idempotencyKey,
        r,
      ]),
    );
    expect(rows.get("doubt-offer")).toMatchObject({ status: "failed", lastError: "in_doubt" });
    expect(rows.get("doubt-reply")).toMatchObject({ status: "pending" });
    expect(rows.get("not-sent")).toMatchObject({ status: "pending", attempts: 0, notBefore: at(3000) });
  });

  it("records sent, retry with backoff, give-up, and unreachable with attempts logged", async () => {
    const [c1, c2, c3] = await makeCustomers(db, 3);
    await enqueueMessages(
      db,
      [
        { idempotencyKey: "ok", customerId: c1!, kind: "offer", payload: {} },
        { idempotencyKey: "flaky", customerId: c2!, kind: "offer", payload: {} },
        { idempotencyKey: "blocked", customerId: c3!, kind: "offer", payload: {} },
      ],
      { now: T0 },
    );
    let now = T0;
    const results: Record<string, SendResult> = {
      ok: { ok: true, providerId: "42" },
      flaky: { ok: false, retryable: true, error: "429", retryAfterMs: 5_000 },
      blocked: { ok: false, retryable: false, unreachable: true, error: "403 blocked" },
    };
    for (let round = 0; round < 3; round++) {
      const batch = await claimDueMessages(db, { limit: 10, workerId: "w", now, leaseMs: 60_000 });
      for (const m of batch) {
        expect(await markSending(db, m, { now })).toBe(true);
        await recordSendResult(db, m, results[m.idempotencyKey]!, { now, maxAttempts: 2 });
      }
      now = at((round + 1) * 6_000);
    }
    const rows = await db.prisma.outboxMessage.findMany({ orderBy: { idempotencyKey: "asc" } });
    const by = Object.fromEntries(rows.map((r) => [r.idempotencyKey, r]));
    expect(by.ok).toMatchObject({ status: "sent", providerId: "42", attempts: 1 });
    expect(by.flaky).toMatchObject({ status: "failed", attempts: 2 });
    expect(by.blocked).toMatchObject({ status: "unreachable" });
    expect((await db.prisma.customer.findUnique({ where: { id: c3! } }))!.unreachableAt).toEqual(T0);
    expect(await db.prisma.deliveryAttempt.count()).toBe(4);
  });

  it("defers without spending an attempt", async () => {
    const [c1] = await makeCustomers(db, 1);
    await enqueueMessages(db, [{ idempotencyKey: "q", customerId: c1!, kind: "offer", payload: {} }], { now: T0 });
    const [m] = await claimDueMessages(db, { limit: 1, workerId: "w", now: T0, leaseMs: 60_000 });
    expect(await deferMessage(db, m!, at(3_600_000))).toBe(true);
    expect(await claimDueMessages(db, { limit: 1, workerId: "w", now: at(3_599_000), leaseMs: 60_000 })).toHaveLength(
      0,
    );
    const [again] = await claimDueMessages(db, { limit: 1, workerId: "w", now: at(3_600_000), leaseMs: 60_000 });
    expect(again!.attempts).toBe(1);
  });

  it("sendNow delivers once and reports duplicates", async () => {
    const [c1] = await makeCustomers(db, 1);
    const channel = new ScriptedChannel();
    const row = {
      idempotencyKey: "ticket:1:reply:1",
      customerId: c1!,
      kind: "ticket_reply" as const,
      payload: { ticketId: 1 },
    };
    expect(await sendNow(db, channel, row, { now: T0 })).toBe("sent");
    expect(await sendNow(db, channel, row, { now: T0 })).toBe("duplicate");
    expect(channel.sent).toHaveLength(1);
    const failing = new ScriptedChannel(() => ({ ok: false, retryable: true, error: "503" }));
    const row2 = { ...row, idempotencyKey: "ticket:1:reply:2" };
    expect(await sendNow(db, failing, row2, { now: T0 })).toBe("retry");
    // a later call (after the backoff) sends the pending one
    expect(await sendNow(db, channel, row2, { now: at(60_000) })).toBe("sent");
  });
});
