// Fixture builders for the bot's end-to-end tests: customers, offers, and a running bot on the
// emulator over a given database.
import { run, type RunnerHandle } from "@grammyjs/runner";
import type TelegramServer from "telegram-test-api";
import { loadConfig, type Config } from "../../core/config/config";
import { Prisma, type Database } from "../../core/db/client";
import type { ChatModel } from "../../core/llm/chat-model";
import { silentLogger, type Logger } from "../../core/log";
import { createTestDatabase } from "../../test/helpers/db";
import { buildTelegramBot, type TelegramBot } from "./bot";
import { startEmulator } from "./test-harness";

export const TEST_TOKEN = "1000:e2e-test-token";

let seq = 0;

export async function makeCustomer(
  db: Database,
  overrides: Partial<{
    externalId: string;
    name: string | null;
    phone: string | null;
    email: string | null;
    locale: string | null;
    chatId: bigint | null;
    categories: string[];
    marketingConsent: boolean;
    /** How the chat was linked; default "token" when `chatId` is given (null: by an import). */
    linkedBy: "token" | "phone" | null;
  }> = {},
): Promise<{ id: number; externalId: string }> {
  seq++;
  const externalId = overrides.externalId ?? `C${Date.now()}-${seq}`;
  const customer = await db.prisma.customer.create({
    data: {
      externalId,
      name: overrides.name === undefined ? "Anna Petrova" : overrides.name,
      phone: overrides.phone === undefined ? null : overrides.phone,
      email: overrides.email === undefined ? `${externalId.toLowerCase()}@example.com` : overrides.email,
      locale: overrides.locale ?? null,
      telegramChatId: overrides.chatId ?? null,
      telegramUserId: overrides.chatId ?? null,
      telegramLinkedBy: overrides.chatId ? (overrides.linkedBy === undefined ? "token" : overrides.linkedBy) : null,
      // consent is opt-in; these customers have agreed to offers unless a test says otherwise
      marketingConsent: overrides.marketingConsent ?? true,
      attributes: { tier: "gold" },
    },
  });
  const categories = overrides.categories ?? ["jazz", "jazz", "rock"];
  for (const [i, category] of categories.entries()) {
    await db.prisma.purchase.create({
      data: {
        externalId: `${externalId}-p${i}`,
        customerId: customer.id,
        purchasedAt: new Date(Date.UTC(2026, 0, 10 + i)),
        amount: new Prisma.Decimal(25 + i),
        category,
      },
    });
  }
  return { id: customer.id, externalId };
}

export async function makeOfferIssue(
  db: Database,
  customerId: number,
  now: Date,
  overrides: Partial<{ expiresAt: Date; status: string }> = {},
): Promise<{ id: number; code: string }> {
  const offer = await db.prisma.offer.upsert({
    where: { key: "winback-15" },
    create: {
      key: "winback-15",
      title: "15% off your next order",
      kind: "percent_off",
      value: new Prisma.Decimal(15),
      cost: new Prisma.Decimal(4),
    },
    update: {},
  });
  seq++;
  const issue = await db.prisma.offerIssue.create({
    data: {
      code: `WB${seq}X${customerId}`,
      customerId,
      offerId: offer.id,
      status: overrides.status ?? "issued",
      issuedAt: now,
      expiresAt: overrides.expiresAt ?? new Date(now.getTime() + 14 * 86_400_000),
    },
  });
  return { id: issue.id, code: issue.code };
}

export function testConfig(server: TelegramServer, extra: Record<string, string> = {}): Config {
  return loadConfig({
    TELEGRAM_BOT_TOKEN: TEST_TOKEN,
    TELEGRAM_BOT_USERNAME: "retention_test_bot",
    TELEGRAM_API_ROOT: server.config.apiURL,
    LOG_LEVEL: "silent",
    QUIET_HOURS_START: "0",
    QUIET_HOURS_END: "0",
    OFFER_CAP_DAYS: "0",
    DECLINE_COOLDOWN_DAYS: "0",
    MARKETING_SPACING_HOURS: "0",
    ...extra,
  });
}

export interface RunningTestBot extends TelegramBot {
  runner: RunnerHandle;
  stop(): Promise<void>;
}

/** Builds the bot on `db` and polls the emulator with the runner (as in production). */
export async function runTestBot(
  db: Database,
  server: TelegramServer,
  options: { now?: () => Date; chatModel?: ChatModel; config?: Config; log?: Logger } = {},
): Promise<RunningTestBot> {
  const built = buildTelegramBot({
    config: options.config ?? testConfig(server),
    db,
    log: options.log ?? silentLogger,
    now: options.now,
    chatModel: options.chatModel,
    // The emulator answers instantly; Telegram's real per-chat limit (1/s) would only make the tests slow.
    limits: { perSecond: 30, perChatPerSecond: 0 },
  });
  await built.bot.init();
  const runner = run(built.bot, {
    runner: { fetch: { allowed_updates: ["message", "callback_query", "my_chat_member"] } },
  });
  return {
    ...built,
    runner,
    stop: async () => {
      if (runner.isRunning()) await runner.stop();
    },
  };
}

/** A fresh database, the emulator and a running bot on them: the end-to-end files' set-up. */
export interface BotOnEmulator {
  db: Database;
  server: TelegramServer;
  running: RunningTestBot;
}

export async function startBotOnEmulator(options: { now: () => Date }): Promise<BotOnEmulator> {
  const db = await createTestDatabase("pglite");
  const server = await startEmulator();
  const running = await runTestBot(db, server, { now: options.now });
  return { db, server, running };
}

/** Stops what `startBotOnEmulator` started (the parts that did start, if it failed midway). */
export async function stopBotOnEmulator(env: Partial<BotOnEmulator>): Promise<void> {
  await env.running?.stop();
  await env.server?.stop();
  await env.db?.close();
}
