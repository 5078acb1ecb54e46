// With a chat model configured, the real bot on the emulator asks the model (the OpenAI-compatible
// stand-in) what each free text is, and routes by its answer where the keyword rules would route
// the other way; junk, an unknown intent, a failure or a model that never answers leave the rules
// to decide. After an NPS score the same routing, told which question is pending, decides whether
// the text is the comment or a new question (a ticket). English and Russian.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import { classifyIntent, isQuestion } from "../../core/conversation/intents";
import { silentLogger } from "../../core/log";
import { enqueueMessages } from "../../core/messaging/outbox";
import { runDispatch } from "../../jobs/dispatch.job";
import { createTestDatabase } from "../../test/helpers/db";
import { OpenAIChatModel } from "../llm/openai-chat";
import { startLlmStandIn, type ChatRequest, type LlmStandIn } from "../slack/testing/llm-stand-in";
import { buttons, emulatorUser, startEmulator, waitForMessages } from "./test-harness";
import { makeCustomer, runTestBot, testConfig, TEST_TOKEN, type RunningTestBot } from "./test-fixtures";

const NOW = new Date("2026-11-20T12:00:00Z");

/** The customer's text inside a prompt (between the untrusted markers). */
function customerText(request: ChatRequest): string {
  const content = String(request.messages.at(-1)?.content ?? "");
  return /<untrusted_customer_text>\n([\s\S]*?)\n<\/untrusted_customer_text>/.exec(content)?.[1] ?? "";
}

const isIntentPrompt = (request: ChatRequest) => String(request.messages.at(-1)?.content).includes('"intent"');
/** The intent prompt that names the NPS follow-up as the question pending. */
const isNpsPrompt = (request: ChatRequest) =>
  isIntentPrompt(request) && String(request.messages.at(-1)?.content).includes("main reason for your score");

describe("intent by the model, rules when it fails [pglite]", () => {
  let db: Database;
  let server: TelegramServer;
  let bot: RunningTestBot;
  let llm: LlmStandIn;
  let config: Config;
  let chat = 31_000;
  /** What the model answers to the intent prompt, per customer text ("hang": never answers). */
  const intentAnswers = new Map<string, string>();
  /**
   * How long the bot waits for the model's intent: long enough for a loaded machine's real
   * answers, short where the test's model never answers (`hanging`), so it is not waited out.
   */
  let intentTimeoutMs = 8000;
  async function hanging<T>(run: () => Promise<T>): Promise<T> {
    intentTimeoutMs = 300;
    try {
      return await run();
    } finally {
      intentTimeoutMs = 8000;
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    server = await startEmulator();
    llm = await startLlmStandIn();
    // Every request is answered by one dispatcher: the intent prompt by the table above, the
    // themes prompt (asked for every request that opens a ticket) with a delivery theme.
    const dispatcher = (request: ChatRequest) => {
      if (!isIntentPrompt(request)) return { content: '{"themes": ["delivery"], "complaint": false}' };
      const answer = intentAnswers.get(customerText(request)) ?? '{"intent": "other"}';
      return answer === "hang" ? { hang: true } : { content: answer };
    };
    llm.script(Array.from({ length: 200 }, () => dispatcher));
    const loaded = testConfig(server, { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: llm.baseUrl });
    // The bot reads the timeout for each message it handles.
    config = {
      ...loaded,
      llm: {
        ...loaded.llm,
        get intentTimeoutMs() {
          return intentTimeoutMs;
        },
      },
    };
    const chatModel = new OpenAIChatModel({
      apiKey: "sk-test",
      baseUrl: llm.baseUrl,
      model: "test-model",
      timeoutMs: config.llm.timeoutMs,
    });
    bot = await runTestBot(db, server, { now: () => NOW, chatModel, config });
  });
  afterAll(async () => {
    await bot?.stop();
    await llm?.close();
    await server?.stop();
    await db?.close();
  });

  async function say(text: string, locale: "en" | "ru" = "en") {
    const user = emulatorUser(server, TEST_TOKEN, chat++, { locale });
    const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), locale });
    const asked = llm.requests.filter((r) => isIntentPrompt(r) && customerText(r) === text).length;
    await user.text(text);
    const [reply] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    const tickets = await db.prisma.ticket.findMany({ where: { customerId: customer.id } });
    const askedNow = llm.requests.filter((r) => isIntentPrompt(r) && customerText(r) === text).length;
    return { reply: reply!.text, tickets, modelAsked: askedNow - asked };
  }

  it("opens a complaint where the model hears sarcasm the rules take for thanks", async () => {
    const text = "Perfect, thanks";
    expect(classifyIntent(text)).toBe("thanks");
    intentAnswers.set(text, '{"intent": "complaint"}');
    const { reply, tickets, modelAsked } = await say(text);
    expect(modelAsked).toBe(1);
    expect(reply).toMatch(/T-\d+/);
    expect(tickets.map((t) => t.source)).toEqual(["complaint"]);
  });

  it("answers small talk and opens no ticket where the rules would open one", async () => {
    const text = "You folks are the best, have a lovely weekend";
    expect(classifyIntent(text)).toBe("request");
    intentAnswers.set(text, 'Sure! ```json\n{"intent": "thanks"}\n```');
    const { reply, tickets } = await say(text);
    expect(reply).toBe("You're welcome! Write any time.");
    expect(tickets).toEqual([]);

    const ru = "Вы лучшие, хороших выходных";
    expect(classifyIntent(ru)).toBe("request");
    intentAnswers.set(ru, '{"intent": "greeting"}');
    const inRussian = await say(ru, "ru");
    expect(inRussian.reply).toContain("Здравствуйте!");
    expect(inRussian.tickets).toEqual([]);
  });

  it("falls back to the rules on junk, an unknown intent, and a model that never answers", async () => {
    intentAnswers.set("Hello", "I think this customer is greeting us!");
    const junk = await say("Hello");
    expect(junk.modelAsked).toBe(1);
    expect(junk.reply).toBe("Hello! How can I help? /help shows what I can do.");
    expect(junk.tickets).toEqual([]);

    intentAnswers.set("Thanks!", '{"intent": "refund_request"}');
    const unknown = await say("Thanks!");
    expect(unknown.modelAsked).toBe(1);
    expect(unknown.reply).toBe("You're welcome! Write any time.");
    expect(unknown.tickets).toEqual([]);

    // The rules open a ticket for this one; the model's silence changes nothing.
    intentAnswers.set("Где мой заказ 4411?", "hang");
    const hung = await hanging(() => say("Где мой заказ 4411?", "ru"));
    expect(hung.modelAsked).toBe(1);
    expect(hung.reply).toMatch(/T-\d+/);
    expect(hung.tickets).toHaveLength(1);

    intentAnswers.set("Спасибо!", '{"intent": ');
    const hungThanks = await say("Спасибо!", "ru");
    expect(hungThanks.reply).toBe("Пожалуйста! Пишите в любое время.");
    expect(hungThanks.tickets).toEqual([]);
  });
  /** A linked customer scores 7 (a passive: no ticket of its own), is asked why, and writes `text`. */
  async function afterNpsScore(text: string, locale: "en" | "ru" = "en") {
    const user = emulatorUser(server, TEST_TOKEN, chat++, { locale });
    const customer = await makeCustomer(db, { chatId: BigInt(user.chatId), locale });
    await enqueueMessages(
      db,
      [
        {
          idempotencyKey: `nps:${user.chatId}`,
          customerId: customer.id,
          kind: "survey_nps",
          payload: {},
          notBefore: NOW,
        },
      ],
      { now: NOW },
    );
    await runDispatch({ config, db, log: silentLogger, now: () => NOW, close: async () => undefined }, bot.channel, {});
    const [question] = await waitForMessages(server, TEST_TOKEN, user.chatId, 1);
    await user.press(buttons(question).find((b) => b.text === "7")!.data, question!.message_id);
    await waitForMessages(server, TEST_TOKEN, user.chatId, 2);
    const calls = (test: (r: ChatRequest) => boolean) =>
      llm.requests.filter((r) => test(r) && customerText(r) === text).length;
    const [asked, askedNps] = [calls(isIntentPrompt), calls(isNpsPrompt)];
    await user.text(text);
    const replies = await waitForMessages(server, TEST_TOKEN, user.chatId, 3);
    const feedback = await db.prisma.feedback.findFirstOrThrow({ where: { customerId: customer.id, kind: "nps" } });
    const tickets = await db.prisma.ticket.findMany({ where: { customerId: customer.id } });
    return {
      reply: replies[2]!.text,
      comment: feedback.comment,
      tickets,
      // Every intent call for the text, and those that named the NPS question as pending.
      modelAsked: calls(isIntentPrompt) - asked,
      modelAskedNps: calls(isNpsPrompt) - askedNps,
    };
  }

  it("after an NPS score, the model tells the comment from a new question, in English and Russian", async () => {
    for (const [text, locale] of [
      ["Where is my order #4411?", "en"],
      ["Где мой заказ #4411?", "ru"],
    ] as const) {
      intentAnswers.set(text, '{"intent": "question"}');
      const question = await afterNpsScore(text, locale);
      // One call decides both: it is not the comment, and what it is (no second call after the flow).
      expect(question).toMatchObject({ modelAsked: 1, modelAskedNps: 1 });
      expect(question.reply).toMatch(/T-\d+/);
      expect(question.tickets.map((t) => t.source)).toEqual(["message"]);
      expect(question.comment).toBeNull();
    }
    for (const [text, locale, thanks] of [
      ["Delivery was slow", "en", "Thank you for your feedback!"],
      ["Доставка была медленной", "ru", "Спасибо за отзыв!"],
    ] as const) {
      intentAnswers.set(text, '{"intent": "answer"}');
      const comment = await afterNpsScore(text, locale);
      expect(comment).toMatchObject({ modelAsked: 1, modelAskedNps: 1 });
      expect(comment.reply).toBe(thanks);
      expect(comment.comment).toBe(text);
      expect(comment.tickets).toEqual([]);
    }
  });

  it("after an NPS score, the model decides where the rules would decide the other way", async () => {
    // The rules take a statement for the comment: the model hears a request for a person.
    for (const [text, locale] of [
      ["I need to change the delivery address of my next order", "en"],
      ["Мне нужно поменять адрес доставки следующего заказа", "ru"],
    ] as const) {
      expect(classifyIntent(text) === "request" && !isQuestion(text)).toBe(true);
      intentAnswers.set(text, '{"intent": "question"}');
      const request = await afterNpsScore(text, locale);
      expect(request.tickets).toHaveLength(1);
      expect(request.comment).toBeNull();
    }
    // The rules take any question mark for a new question: the model hears the reason for the score.
    for (const [text, locale] of [
      ["Why does every delivery take a week?", "en"],
      ["Почему каждая доставка идёт неделю?", "ru"],
    ] as const) {
      expect(isQuestion(text)).toBe(true);
      intentAnswers.set(text, '{"intent": "answer"}');
      const comment = await afterNpsScore(text, locale);
      expect(comment.comment).toBe(text);
      expect(comment.tickets).toEqual([]);
    }
  });

  it("after an NPS score, a failing model leaves the decision to the rules", async () => {
    intentAnswers.set("Where is my order #4411?", '{"intent": "refund_request"}');
    const unknown = await afterNpsScore("Where is my order #4411?");
    expect(unknown.modelAsked).toBe(1);
    expect(unknown.reply).toMatch(/T-\d+/);
    expect(unknown.comment).toBeNull();

    intentAnswers.set("Delivery was slow", "hang");
    const hung = await hanging(() => afterNpsScore("Delivery was slow"));
    expect(hung.modelAsked).toBe(1);
    expect(hung.comment).toBe("Delivery was slow");
    expect(hung.tickets).toEqual([]);

    intentAnswers.set("Где мой заказ #4411?", "Это вопрос про заказ");
    const junk = await afterNpsScore("Где мой заказ #4411?", "ru");
    expect(junk.reply).toMatch(/T-\d+/);
    expect(junk.comment).toBeNull();

    intentAnswers.set("Доставка была медленной", '{"intent": ');
    const cut = await afterNpsScore("Доставка была медленной", "ru");
    expect(cut.reply).toBe("Спасибо за отзыв!");
    expect(cut.comment).toBe("Доставка была медленной");
  });
});
