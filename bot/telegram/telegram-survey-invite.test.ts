// Survey invitations end to end: the scheduled jobs (`retention run survey --kind servqual|nps`)
// queue a wave, the dispatcher delivers it on the emulator, and each customer gets the invitation
// in their language with its start button (SERVQUAL) or score buttons (NPS); pressing starts the
// survey. English and Russian.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { runDispatch } from "../../jobs/dispatch.job";
import { servqualSurveyJob, surveyJob } from "../../jobs/survey.job";
import { buttons, emulatorUser, waitForMessages } from "./test-harness";
import {
  makeCustomer,
  startBotOnEmulator,
  stopBotOnEmulator,
  testConfig,
  TEST_TOKEN,
  type RunningTestBot,
} from "./test-fixtures";

const NOW = new Date("2026-11-20T12:00:00Z");
let db: Database;
let server: TelegramServer;
let running: RunningTestBot;
let nextChat = 41_000;

beforeAll(async () => {
  ({ db, server, running } = await startBotOnEmulator({ now: () => NOW }));
});
afterAll(() => stopBotOnEmulator({ db, server, running }));

async function consenting(locale: "en" | "ru") {
  const user = emulatorUser(server, TEST_TOKEN, nextChat++, { locale });
  const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), locale, marketingConsent: true });
  return { user, customer };
}

/** Runs a survey job and the dispatcher as the scheduler does. */
async function runWave(job: typeof surveyJob): Promise<Record<string, unknown>> {
  const ctx = { config: testConfig(server), db, log: silentLogger, now: () => NOW, close: async () => undefined };
  const summary = await job.run(ctx);
  await runDispatch(ctx, running.channel);
  return summary;
}

it("invites to SERVQUAL with a start button, then to NPS those not surveyed, each in their language", async () => {
  const servqual = { en: await consenting("en"), ru: await consenting("ru") };
  expect(await runWave(servqualSurveyJob)).toMatchObject({ kind: "servqual", queued: 2 });
  for (const [locale, start, first] of [
    ["en", "Would you help us improve?", "Question 1 of 10"],
    ["ru", "Поможете нам стать лучше?", "Вопрос 1 из 10"],
  ] as const) {
    const { user } = servqual[locale];
    const [invite] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    expect(invite!.text).toContain(start);
    expect(buttons(invite)).toHaveLength(1);
    await user.press(buttons(invite)[0]!.data, invite!.message_id);
    expect((await waitForMessages(server, TEST_TOKEN, user.chatId, 2))[1]!.text).toContain(first);
  }

  // The NPS wave the same day reaches only the customers the SERVQUAL wave did not.
  const nps = { en: await consenting("en"), ru: await consenting("ru") };
  expect(await runWave(surveyJob)).toMatchObject({ kind: "nps", queued: 2 });
  for (const [locale, asked] of [
    ["en", "recommend"],
    ["ru", "порекомендуете"],
  ] as const) {
    const { user, customer } = nps[locale];
    const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    expect(question!.text).toContain(asked);
    expect(buttons(question).map((b) => b.text)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    await user.press(buttons(question).find((b) => b.text === "9")!.data, question!.message_id);
    await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    expect(
      await db.prisma.feedback.findFirstOrThrow({ where: { customerId: customer.id, kind: "nps" } }),
    ).toMatchObject({ score: 9 });
  }
  for (const { customer } of Object.values(servqual))
    expect(await db.prisma.outboxMessage.count({ where: { customerId: customer.id, kind: "survey_nps" } })).toBe(0);
});
