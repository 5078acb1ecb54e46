// An update that comes again after its write committed and before it was finished (the process
// died inside the reply): the write's outcome, recorded with the update's marker, gives the same
// replies and nothing is written twice; an update that was finished is dropped.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { recordNpsScore } from "../feedback/nps";
import { silentLogger } from "../log";
import { makeCustomer } from "../staff/test-fixtures";
import { finishUpdate, loadChat, recordReceived } from "./chats";
import { handleCustomerMessage, type ConversationDeps } from "./conversation";
import { enterFlow, type ConversationState } from "./state";

const NOW = new Date("2026-11-20T12:00:00Z");

describeEachDatabase("an update redelivered after its write", (kind) => {
  let db: Database;
  let deps: ConversationDeps;
  let nextChat = 610_000;
  let nextUpdate = 920_000;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    deps = { db, log: silentLogger, timeoutMinutes: 30, supportResponseHours: 24 };
  });
  afterAll(async () => {
    await db?.close();
  });

  /** Handles `text` as the bot would, from what `loadChat` reads; finishes the update if asked. */
  async function deliver(chatId: number, updateId: number, text: string, state: ConversationState, finish: boolean) {
    const marker = { source: "telegram", updateId: String(updateId) };
    const snapshot = await loadChat(db, { marker, chatId: BigInt(chatId), stateKey: `tg:${chatId}` });
    if (snapshot.handled) return { dropped: true as const };
    const result = await handleCustomerMessage(deps, {
      customer: snapshot.customer,
      message: { text, marker, recorded: snapshot.recorded },
      state: snapshot.state ?? state,
      now: NOW,
    });
    if (finish) await finishUpdate(db, { marker, state: { key: `tg:${chatId}`, data: result.state } });
    return { dropped: false as const, keys: result.replies.map((r) => r.lines[0]!.key), result };
  }

  const counts = async (customerId: number) => ({
    tickets: await db.prisma.ticket.count({ where: { customerId } }),
    messages: await db.prisma.ticketMessage.count({ where: { ticket: { customerId } } }),
    events: await db.prisma.staffEvent.count({ where: { payload: { path: ["customerId"], equals: customerId } } }),
    complaints: await db.prisma.feedback.count({ where: { customerId, kind: "complaint" } }),
  });

  it("answers a complaint again from its recorded ticket, writing nothing twice", async () => {
    const chatId = nextChat++;
    const updateId = nextUpdate++;
    const customer = await makeCustomer(db, { telegramChatId: BigInt(chatId) });
    await recordReceived(db, "telegram", [{ updateId: String(updateId), payload: { update_id: updateId } }]);
    const text = "My parcel arrived damaged, this is unacceptable";

    const first = await deliver(chatId, updateId, text, {}, false);
    const afterFirst = await counts(customer.id);
    expect(afterFirst).toEqual({ tickets: 1, messages: 1, events: 1, complaints: 1 });
    // The process died before the reply: the same update again.
    const again = await deliver(chatId, updateId, text, {}, true);
    expect(again.dropped).toBe(false);
    expect(again.dropped === false && again.result.replies).toEqual(first.dropped === false && first.result.replies);
    expect(await counts(customer.id)).toEqual(afterFirst);
    // Finished: a third delivery is dropped.
    expect((await deliver(chatId, updateId, text, {}, true)).dropped).toBe(true);
    const marker = await db.prisma.processedUpdate.findUniqueOrThrow({
      where: { source_updateId: { source: "telegram", updateId: String(updateId) } },
    });
    expect(marker.handledAt).not.toBeNull();
    expect(marker.payload).toBeNull();
  });

  it("answers a detractor's comment again, storing it and its ticket message once", async () => {
    const chatId = nextChat++;
    const updateId = nextUpdate++;
    const customer = await makeCustomer(db, { telegramChatId: BigInt(chatId) });
    const score = await recordNpsScore(db, { customerId: customer.id, score: 2, surveyId: `test:${chatId}`, now: NOW });
    if (!score.ok) throw new Error("score not recorded");
    const state = enterFlow({}, { type: "nps_comment", feedbackId: score.value.feedbackId }, NOW);
    const before = await counts(customer.id);
    const text = "The courier was rude and late";

    const first = await deliver(chatId, updateId, text, state, false);
    expect(first.dropped === false && first.keys).toEqual(["nps-thanks", "nps-ticket"]);
    const afterFirst = await counts(customer.id);
    expect(afterFirst.messages).toBe(before.messages + 1);
    expect(afterFirst.tickets).toBe(before.tickets);
    const again = await deliver(chatId, updateId, text, state, true);
    expect(again.dropped === false && again.result.replies).toEqual(first.dropped === false && first.result.replies);
    expect(await counts(customer.id)).toEqual(afterFirst);
    const feedback = await db.prisma.feedback.findUniqueOrThrow({ where: { id: score.value.feedbackId } });
    expect(feedback.comment).toBe(text);
    expect(feedback.ticketId).toBe(score.value.ticket?.id);
  });

  it("answers a promoter's comment again without taking it for a new request", async () => {
    const chatId = nextChat++;
    const updateId = nextUpdate++;
    const customer = await makeCustomer(db, { telegramChatId: BigInt(chatId) });
    const score = await recordNpsScore(db, {
      customerId: customer.id,
      score: 10,
      surveyId: `test:${chatId}`,
      now: NOW,
    });
    if (!score.ok) throw new Error("score not recorded");
    const state = enterFlow({}, { type: "nps_comment", feedbackId: score.value.feedbackId }, NOW);
    const text = "Fast delivery and friendly staff";

    const first = await deliver(chatId, updateId, text, state, false);
    expect(first.dropped === false && first.keys).toEqual(["nps-thanks"]);
    const again = await deliver(chatId, updateId, text, state, true);
    expect(again.dropped === false && again.keys).toEqual(["nps-thanks"]);
    expect(await counts(customer.id)).toEqual({ tickets: 0, messages: 0, events: 0, complaints: 0 });
    const feedback = await db.prisma.feedback.findUniqueOrThrow({ where: { id: score.value.feedbackId } });
    expect(feedback.comment).toBe(text);
  });
});
