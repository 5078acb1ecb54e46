import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { resolveTicket, openTicket } from "../tickets/tickets";
import type { MessageChannel } from "../messaging/channel";
import { recordCsat } from "./csat";
import { npsCategory, recordNpsComment, recordNpsScore } from "./nps";
import { answerServqual, servqualQuestion, startServqual } from "./servqual";
import { tagThemesByKeywords } from "./themes";

const NOW = new Date("2026-11-20T12:00:00Z");

describe("keyword themes", () => {
  it("tags English and Russian text", () => {
    expect(tagThemesByKeywords("Delivery was late and the courier was rude")).toEqual({
      themes: ["delivery", "staff"],
      complaint: false,
      by: "keywords",
    });
    expect(tagThemesByKeywords("Terrible quality, the CD arrived broken. I want a refund!")).toMatchObject({
      themes: ["delivery", "quality", "returns"],
      complaint: true,
    });
    expect(tagThemesByKeywords("Слишком дорого, и на сайте не работает оформление заказа")).toMatchObject({
      themes: ["price", "website"],
      complaint: true,
    });
    expect(tagThemesByKeywords("Всё отлично, спасибо")).toMatchObject({ themes: [], complaint: false });
  });

  it("categorises NPS scores", () => {
    expect([0, 6, 7, 8, 9, 10].map(npsCategory)).toEqual([
      "detractor",
      "detractor",
      "passive",
      "passive",
      "promoter",
      "promoter",
    ]);
  });

  it("walks the ten SERVQUAL questions, expectation before perception", () => {
    expect(servqualQuestion({ step: 0 })).toMatchObject({ number: 1, dimension: "tangibles", part: "expect" });
    expect(servqualQuestion({ step: 9 })).toMatchObject({ number: 10, dimension: "empathy", part: "perceive" });
  });
});

const silentChannel: MessageChannel = { name: "test", send: async () => ({ ok: true, providerId: "1" }) };

describeEachDatabase("feedback store", (kind) => {
  let db: Database;
  let n = 0;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => db?.close());
  const customer = () =>
    db.prisma.customer.create({ data: { externalId: `f${++n}`, telegramChatId: BigInt(600_000 + n) } });

  it("takes one NPS score per survey, alerts staff on a detractor's score, and joins the comment", async () => {
    const c = await customer();
    const first = await recordNpsScore(db, { customerId: c.id, score: 2, surveyId: "outbox:1", now: NOW });
    expect(first).toMatchObject({ ok: true, value: { category: "detractor" } });
    const alerted = await db.prisma.staffEvent.findFirstOrThrow({
      where: { type: "nps_detractor" },
      orderBy: { id: "desc" },
    });
    expect(alerted.payload).toMatchObject({ customerId: c.id, score: 2, ticketId: first.ok && first.value.ticket?.id });
    expect(await recordNpsScore(db, { customerId: c.id, score: 9, surveyId: "outbox:1", now: NOW })).toMatchObject({
      ok: false,
      error: { type: "already_answered" },
    });
    expect(await recordNpsScore(db, { customerId: c.id, score: 11, surveyId: "outbox:2", now: NOW })).toMatchObject({
      ok: false,
      error: { type: "invalid_score" },
    });
    if (!first.ok) return;
    const other = await customer();
    expect(
      await recordNpsComment(db, { feedbackId: first.value.feedbackId, customerId: other.id, text: "x", now: NOW }),
    ).toMatchObject({ ok: false, error: { type: "not_found" } });
    const comment = await recordNpsComment(db, {
      feedbackId: first.value.feedbackId,
      customerId: c.id,
      text: "Prices went up, too expensive",
      now: NOW,
    });
    expect(comment).toMatchObject({ ok: true, value: { themes: ["price"], category: "detractor" } });
    if (!comment.ok) return;
    expect(comment.value.ticket?.reference).toBe(`T-${1000 + comment.value.ticket!.id}`);
    expect(comment.value.ticket?.id).toBe(first.value.ticket?.id);
    const event = await db.prisma.staffEvent.findFirstOrThrow({
      where: { type: "ticket_message" },
      orderBy: { id: "desc" },
    });
    expect(event.payload).toMatchObject({
      ticketId: comment.value.ticket!.id,
      customerId: c.id,
      preview: "Prices went up, too expensive",
    });
    expect(
      await recordNpsComment(db, { feedbackId: first.value.feedbackId, customerId: c.id, text: "again", now: NOW }),
    ).toMatchObject({ ok: false, error: { type: "already_commented" } });
  });

  it("refuses a stale SERVQUAL step and stores each dimension's gap once", async () => {
    const c = await customer();
    let state = startServqual("s1");
    expect(await answerServqual(db, c.id, state, { step: 1, value: 5, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "stale" },
    });
    const e = await answerServqual(db, c.id, state, { step: 0, value: 7, now: NOW });
    if (!e.ok || !e.value.next) throw new Error("expected next");
    state = e.value.next;
    const p = await answerServqual(db, c.id, state, { step: 1, value: 3, now: NOW });
    expect(p).toMatchObject({ ok: true, value: { saved: { dimension: "tangibles", gap: -4 } } });
    // Replaying the same perception (a restart between write and session save) stores nothing new.
    await answerServqual(db, c.id, state, { step: 1, value: 3, now: NOW });
    expect(await db.prisma.feedback.count({ where: { customerId: c.id, kind: "servqual" } })).toBe(1);
  });

  it("takes CSAT only for the customer's own resolved ticket, once", async () => {
    const c = await customer();
    const other = await customer();
    const ticket = await openTicket(db, { customerId: c.id, source: "complaint", text: "broken", now: NOW });
    expect(await recordCsat(db, { ticketId: ticket.id, customerId: c.id, score: 4, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "not_resolved" },
    });
    expect(await resolveTicket(db, ticket.id, { channel: silentChannel, now: NOW })).toMatchObject({
      ok: true,
      value: { firstResponseMs: null, csat: "sent" },
    });
    expect(await resolveTicket(db, ticket.id, { channel: silentChannel, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "already_resolved" },
    });
    expect(await recordCsat(db, { ticketId: ticket.id, customerId: other.id, score: 4, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "not_found" },
    });
    expect(await recordCsat(db, { ticketId: ticket.id, customerId: c.id, score: 4, now: NOW })).toMatchObject({
      ok: true,
    });
    expect(await recordCsat(db, { ticketId: ticket.id, customerId: c.id, score: 5, now: NOW })).toMatchObject({
      ok: false,
      error: { type: "already_rated" },
    });
    // The rating, its feedback row and its staff event were stored together, once.
    expect(await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).toMatchObject({ csatScore: 4 });
    expect(await db.prisma.feedback.findMany({ where: { ticketId: ticket.id, kind: "csat" } })).toMatchObject([
      { customerId: c.id, score: 4, surveyId: `ticket:${ticket.id}` },
    ]);
    const events = await db.prisma.staffEvent.findMany({ where: { type: "csat_received" } });
    expect(events.filter((e) => (e.payload as { ticketId?: number }).ticketId === ticket.id)).toMatchObject([
      { payload: { ticketId: ticket.id, reference: ticket.reference, customerId: c.id, score: 4 } },
    ]);
  });
});
