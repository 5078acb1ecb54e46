// Offer responses, redemption, linking by phone, consent and erasure on both databases.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../db/client";
import { Prisma } from "../db/client";
import { describeEachDatabase } from "../../test/helpers/db";
import { createTestDatabase } from "../../test/helpers/db";
import { eraseCustomer, exportCustomerData, optOut } from "../consent/consent";
import { linkByPhone } from "../linking/linking";
import { acceptOffer, declineOffer, redeemOffer } from "./offer-responses";
import { loadOfferContext } from "./offer-context";
import { upsertOffer } from "../campaigns/offer-catalogue";
import { newOfferCode, OFFER_CODE_ALPHABET, offerCodeSql } from "./offer-code";
import { offerText } from "./offer-text";
import { expireOffers } from "./offer-expiry";

const NOW = new Date("2026-11-20T12:00:00Z");
const DAY = 86_400_000;

describeEachDatabase("offers, linking and consent", (kind) => {
  let db: Database;
  let n = 0;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await db.prisma.offer.create({
      data: {
        key: "o",
        title: "10% off",
        kind: "percent_off",
        value: new Prisma.Decimal(10),
        cost: new Prisma.Decimal(3),
      },
    });
  });
  afterAll(async () => db?.close());

  const customer = (data: Partial<Prisma.CustomerCreateInput> = {}) =>
    db.prisma.customer.create({
      data: { externalId: `c${++n}`, name: "Olga Smirnova", marketingConsent: true, ...data },
    });
  const issue = async (customerId: number, expiresAt = new Date(NOW.getTime() + 7 * DAY)) => {
    const offer = await db.prisma.offer.findUniqueOrThrow({ where: { key: "o" } });
    return db.prisma.offerIssue.create({
      data: { code: `CODE${++n}`, customerId, offerId: offer.id, status: "sent", expiresAt },
    });
  };

  it("accepts (idempotently), declines, and refuses expired or someone else's offers", async () => {
    const a = await customer();
    const b = await customer();
    const mine = await issue(a.id);
    const accepted = await acceptOffer(db, { issueId: mine.id, customerId: a.id, now: NOW });
    expect(accepted).toMatchObject({ ok: true, value: { code: mine.code, repeated: false } });
    expect(await acceptOffer(db, { issueId: mine.id, customerId: a.id, now: NOW })).toMatchObject({
      ok: true,
      value: { repeated: true },
    });
    expect(await declineOffer(db, { issueId: mine.id, customerId: a.id, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "already_responded" },
    });
    expect(await acceptOffer(db, { issueId: mine.id, customerId: b.id, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "not_yours" },
    });
    const old = await issue(a.id, new Date(NOW.getTime() - DAY));
    expect(await acceptOffer(db, { issueId: old.id, customerId: a.id, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "expired" },
    });
    expect((await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: old.id } })).status).toBe("sent");
  });

  it("redeems a code once, for its owner, before it expires", async () => {
    const a = await customer();
    const b = await customer();
    const mine = await issue(a.id);
    expect(await redeemOffer(db, { code: mine.code, customerId: b.id, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "not_yours" },
    });
    expect(await redeemOffer(db, { code: mine.code.toLowerCase(), amount: 30, now: NOW })).toMatchObject({
      ok: true,
      value: { customerId: a.id },
    });
    expect(await redeemOffer(db, { code: mine.code, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "already_redeemed" },
    });
    expect(await redeemOffer(db, { code: "NOPE", now: NOW })).toMatchObject({
      ok: false,
      error: { type: "unknown_code" },
    });
    const late = await issue(a.id, new Date(NOW.getTime() - 1));
    expect(await redeemOffer(db, { code: late.code, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "expired" },
    });
  });

  it("makes 8-character codes without look-alikes, in SQL and in code, and redeems them as read back", async () => {
    const pattern = new RegExp(`^[${OFFER_CODE_ALPHABET}]{8}$`);
    expect(OFFER_CODE_ALPHABET).not.toMatch(/[01OIL]/);
    const rows = await db.prisma.$queryRaw<{ code: string }[]>`
      SELECT ${offerCodeSql(Prisma.sql`'seed:' || g::text`)} AS code FROM generate_series(1, 2000) AS g`;
    const codes = [...rows.map((r) => r.code), ...Array.from({ length: 2000 }, newOfferCode)];
    for (const code of codes) expect(code).toMatch(pattern);
    expect(new Set(codes).size).toBe(codes.length);
    // Every character of the alphabet turns up: the SQL picks from all 31.
    expect(new Set(rows.flatMap((r) => [...r.code])).size).toBe(OFFER_CODE_ALPHABET.length);

    const a = await customer();
    const offer = await db.prisma.offer.findUniqueOrThrow({ where: { key: "o" } });
    const code = newOfferCode();
    await db.prisma.offerIssue.create({
      data: { code, customerId: a.id, offerId: offer.id, status: "sent", expiresAt: new Date(NOW.getTime() + DAY) },
    });
    const spoken = `${code.slice(0, 4)}-${code.slice(4)}`.toLowerCase();
    expect(await redeemOffer(db, { code: spoken, now: NOW })).toMatchObject({ ok: true, value: { customerId: a.id } });
  });

  it("keeps each language's title and description, and the single title is every other language's", async () => {
    const first = await upsertOffer(db, {
      key: "texts",
      title: "15% off",
      kind: "percent_off",
      value: 15,
      cost: 4,
      saveProbability: 0.1,
    });
    expect(first.ok && first.value.translations).toEqual({});
    const saved = await upsertOffer(db, {
      key: "texts",
      title: "15% off",
      description: "On everything",
      translations: { ru: { title: "Скидка 15%", description: "На всё" } },
      kind: "percent_off",
      value: 15,
      cost: 4,
      saveProbability: 0.1,
    });
    expect(saved.ok).toBe(true);
    // An update in the old single-title form keeps the Russian words.
    await upsertOffer(db, {
      key: "texts",
      title: "15% off everything",
      kind: "percent_off",
      value: 15,
      cost: 4,
      saveProbability: 0.1,
    });
    const row = await db.prisma.offer.findUniqueOrThrow({ where: { key: "texts" } });
    expect(offerText(row, "ru")).toEqual({ title: "Скидка 15%", description: "На всё" });
    expect(offerText(row, "en")).toEqual({ title: "15% off everything", description: "On everything" });
    expect(
      await upsertOffer(db, {
        key: "texts",
        title: "x",
        translations: { de: { title: "y" } } as never,
        kind: "percent_off",
        value: 1,
        cost: 1,
        saveProbability: 0.1,
      }),
    ).toMatchObject({ ok: false, error: { type: "invalid" } });
  });

  it("expires unanswered offers: a sent one loses its buttons, an unsent one is never sent", async () => {
    const chatId = BigInt(880_000 + n);
    const a = await customer({ telegramChatId: chatId });
    const sent = await issue(a.id, new Date(NOW.getTime() - 1));
    const waiting = await issue(a.id, new Date(NOW.getTime() - 1));
    const answered = await issue(a.id, new Date(NOW.getTime() - 1));
    const later = await issue(a.id, new Date(NOW.getTime() + DAY));
    await db.prisma.offerIssue.update({ where: { id: waiting.id }, data: { status: "issued" } });
    await db.prisma.offerIssue.update({ where: { id: answered.id }, data: { status: "accepted" } });
    await db.prisma.outboxMessage.createMany({
      data: [
        {
          idempotencyKey: `x${sent.id}`,
          customerId: a.id,
          kind: "offer",
          status: "sent",
          providerId: "41",
          payload: { offerIssueId: sent.id },
        },
        { idempotencyKey: `x${waiting.id}`, customerId: a.id, kind: "offer", payload: { offerIssueId: waiting.id } },
      ],
    });
    const removed: [bigint, string][] = [];
    const channel = {
      name: "fake",
      send: () => Promise.resolve({ ok: true as const, providerId: "0" }),
      removeButtons: (chatId: bigint, providerId: string) => {
        removed.push([chatId, providerId]);
        return Promise.resolve(true);
      },
    };
    // Earlier tests in this database left expired offers of their own: at least these two.
    const first = await expireOffers(db, channel, { now: NOW });
    expect(first).toMatchObject({ unsent: 1, buttonsRemoved: 1 });
    expect(first.expired).toBeGreaterThanOrEqual(2);
    expect(removed).toEqual([[chatId, "41"]]);
    const statuses = await db.prisma.offerIssue.findMany({
      where: { id: { in: [sent.id, waiting.id, answered.id, later.id] } },
      orderBy: { id: "asc" },
    });
    expect(statuses.map((i) => i.status)).toEqual(["expired", "expired", "accepted", "sent"]);
    expect(
      await db.prisma.outboxMessage.findUniqueOrThrow({ where: { idempotencyKey: `x${waiting.id}` } }),
    ).toMatchObject({
      status: "skipped",
      skipReason: "offer_expired",
    });
    expect(await expireOffers(db, channel, { now: NOW })).toEqual({ expired: 0, unsent: 0, buttonsRemoved: 0 });
  });

  it("links by phone on an exact digit match, and refuses an ambiguous number", async () => {
    const a = await customer({ phone: "+44 20 7946 0958" });
    expect(await linkByPhone(db, "442079460958", { chatId: 555n, userId: 555n }, { now: NOW })).toEqual({
      ok: true,
      value: { customerId: a.id, status: "linked" },
    });
    expect(await linkByPhone(db, "+44 (20) 7946-0958", { chatId: 555n, userId: 555n }, { now: NOW })).toEqual({
      ok: true,
      value: { customerId: a.id, status: "already_linked" },
    });
    expect(await linkByPhone(db, "4420794609", { chatId: 556n, userId: 556n }, { now: NOW })).toMatchObject({
      ok: false,
      error: { type: "not_found" },
    });
    // Two customers share a (valid, so comparable) number written two ways.
    await customer({ phone: "+1 202 456 1111" });
    await customer({ phone: "12024561111" });
    expect(await linkByPhone(db, "12024561111", { chatId: 557n, userId: 557n }, { now: NOW })).toMatchObject({
      ok: false,
      error: { type: "ambiguous" },
    });
  });

  it("opting out skips pending marketing but not replies", async () => {
    const a = await customer();
    await db.prisma.outboxMessage.createMany({
      data: [
        { idempotencyKey: `o${a.id}`, customerId: a.id, kind: "offer" },
        { idempotencyKey: `r${a.id}`, customerId: a.id, kind: "ticket_reply" },
      ],
    });
    expect(await optOut(db, a.id, { now: NOW, actor: "test" })).toEqual({ ok: true, value: { changed: true } });
    expect(await optOut(db, a.id, { now: NOW, actor: "test" })).toEqual({ ok: true, value: { changed: false } });
    const rows = await db.prisma.outboxMessage.findMany({ where: { customerId: a.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => r.status)).toEqual(["skipped", "pending"]);
  });

  it("exports everything and erases personal data, keeping anonymous aggregates", async () => {
    const a = await customer({
      email: "olga@example.com",
      phone: "+7 900 000 0000",
      telegramChatId: 999_001n,
      attributes: { tier: "gold" },
    });
    await db.prisma.purchase.create({
      data: {
        externalId: `p${a.id}`,
        customerId: a.id,
        purchasedAt: NOW,
        amount: new Prisma.Decimal(42),
        category: "jazz",
      },
    });
    await db.prisma.feedback.create({
      data: { customerId: a.id, kind: "nps", score: 4, comment: "Olga here, phone me" },
    });
    await db.prisma.conversation.create({ data: { key: "tg:999001", customerId: a.id, data: { locale: "ru" } } });
    await db.prisma.linkToken.create({ data: { token: `tok${a.id}`, customerId: a.id, expiresAt: NOW } });
    expect((await loadOfferContext(db, a.id)).topCategory).toBe("jazz");

    const exported = await exportCustomerData(db, a.id, { now: NOW, actor: "test" });
    expect(exported.ok && JSON.stringify(exported.value)).toContain("olga@example.com");

    const erased = await eraseCustomer(db, a.id, { now: NOW });
    expect(erased).toMatchObject({ ok: true, value: { erased: true } });
    expect(await eraseCustomer(db, a.id, { now: NOW })).toMatchObject({ ok: false, error: { type: "already_erased" } });
    // What is kept moved onto a new anonymous row; the customer's own row is gone.
    expect(await db.prisma.customer.findUnique({ where: { id: a.id } })).toBeNull();
    const anonymousId = erased.ok ? erased.value.anonymousId : -1;
    const row = await db.prisma.customer.findUniqueOrThrow({ where: { id: anonymousId } });
    expect(row.externalId).toMatch(/^erased:/);
    expect(row).toMatchObject({
      name: null,
      email: null,
      phone: null,
      telegramChatId: null,
      attributes: {},
      marketingConsent: false,
    });
    expect(
      await db.prisma.purchase.aggregate({ where: { customerId: anonymousId }, _sum: { amount: true } }),
    ).toMatchObject({
      _sum: { amount: new Prisma.Decimal(42) },
    });
    expect(await db.prisma.feedback.findFirst({ where: { score: 4, comment: null, customerId: null } })).not.toBeNull();
    expect(await db.prisma.conversation.count({ where: { key: "tg:999001" } })).toBe(0);
    expect(await db.prisma.linkToken.count({ where: { customerId: a.id } })).toBe(0);
    const after = await exportCustomerData(db, a.id, { now: NOW, actor: "test" });
    expect(JSON.stringify(after.ok && after.value)).not.toContain("olga");
  });
});
