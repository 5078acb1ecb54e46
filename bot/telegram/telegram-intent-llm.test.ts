// With a chat model configured, the real bot on the emulator asks the model (the OpenAI-compatible
// stand-in) what each free text is, and routes by its answer where the keyword rules would route
// the other way; junk, an unknown intent, a failure or a model that never answers leave the rules
// to decide. English and Russian.
import type TelegramServer from "telegram-test-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../core/db/client";
import { classifyIntent } from "../../core/conversation/intents";
import { createTestDatabase } from "../../test/helpers/db";
import { OpenAIChatModel } from "../llm/openai-chat";
import { startLlmStandIn, type ChatRequest, type LlmStandIn } from "../slack/testing/llm-stand-in";
import { emulatorUser, startEmulator, waitForMessages } from "./test-harness";
import { makeCustomer, runTestBot, testConfig, TEST_TOKEN, type RunningTestBot } from "./test-fixtures";

const NOW = new Date("2026-11-20T12:00:00Z");

/** The customer's text inside a prompt (between the untrusted markers). */
function customerText(request: ChatRequest): string {
  const content = String(request.messages.at(-1)?.content ?? "");
  return /<untrusted_customer_text>\n([\s\S]*?)\n<\/untrusted_customer_text>/.exec(content)?.[1] ?? "";
}

const isIntentPrompt = (request: ChatRequest) => String(request.messages.at(-1)?.content).includes('"intent"');

describe("intent by the model, rules when it fails [pglite]", () => {
  let db: Database;
  let server: TelegramServer;
  let bot: RunningTestBot;
  let llm: LlmStandIn;
  let chat = 31_000;
  /** What the model answers to the intent prompt, per customer text ("hang": never answers). */
  const intentAnswers = new Map<string, string>();

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
    const config = testConfig(server, {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: llm.baseUrl,
      // Long enough for a loaded machine's real answers; the one hung answer waits it out.
      LLM_INTENT_TIMEOUT_MS: "8000",
    });
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
    const hung = await say("Где мой заказ 4411?", "ru");
    expect(hung.modelAsked).toBe(1);
    expect(hung.reply).toMatch(/T-\d+/);
    expect(hung.tickets).toHaveLength(1);

    intentAnswers.set("Спасибо!", '{"intent": ');
    const hungThanks = await say("Спасибо!", "ru");
    expect(hungThanks.reply).toBe("Пожалуйста! Пишите в любое время.");
    expect(hungThanks.tickets).toEqual([]);
  });
});
