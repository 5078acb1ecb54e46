// The customer's Telegram bot: built without starting (tests drive the built bot), then started
// with long polling (@grammyjs/runner, each batch kept until handled: polling.ts) or as a webhook
// with Telegram's secret-token header checked (Telegram retries an update until it is answered).
// Handlers are thin: an update becomes one core call and its result one message.
import http from "node:http";
import { sequentialize } from "@grammyjs/runner";
import { Bot, webhookCallback, type BotError } from "grammy";
import type { Config } from "../../core/config/config";
import { setReachable } from "../../core/conversation/chats";
import type { Database } from "../../core/db/client";
import type { ChatModel } from "../../core/llm/chat-model";
import type { Logger } from "../../core/log";
import type { Metrics } from "../../core/ops/metrics";
import { countUpdates } from "./metrics";
import { decodeCallback } from "../../core/messaging/callback-data";
import { assertUnreachable } from "../../core/result";
import { defaultTranslator, SUPPORTED_LOCALES, type Locale, type Translator } from "../../core/messaging/locales";
import { enrichOutboundMessage } from "../../core/offers/offer-context";
import { chatModelFromConfig } from "../llm/openai-chat";
import type { BotContext, BotDeps } from "./bot-context";
import { consentHandlers, handleConsentCallback } from "./handlers/consent.handlers";
import { feedbackHandlers, handleFeedbackCallback } from "./handlers/feedback.handlers";
import { handleLinkMoveCallback, linkHandlers } from "./handlers/link.handlers";
import { handleOfferCallback } from "./handlers/offer.handlers";
import { answerCallback } from "./handlers/replies";
import { complaintCommand, textHandlers } from "./handlers/text.handlers";
import { caseInsensitiveCommands, identify, onceOnly, privateChatsOnly } from "./middleware";
import { createTelegramClient, TELEGRAM_LIMITS, type TelegramClient, type TelegramLimits } from "./telegram-api";
import { startPolling } from "./polling";
import { createTelegramChannel, type TelegramChannel } from "./telegram-channel";

export interface TelegramBotOptions {
  config: Config;
  db: Database;
  log: Logger;
  chatModel?: ChatModel;
  now?: () => Date;
  translate?: Translator;
  /**
   * The process's Telegram client (jobs/runtime.ts): the bot's calls then share its one limiter
   * with the dispatcher and staff replies. Without it the bot builds its own with `limits`.
   */
  telegram?: TelegramClient;
  /** Counts handled updates (`retention start` with HTTP_PORT). */
  metrics?: Metrics;
  /** Limits for a client built here (tests, benchmarks); default Telegram's. */
  limits?: TelegramLimits;
}

export interface TelegramBot {
  bot: Bot<BotContext>;
  /** A `MessageChannel` over the same limiter, for the dispatcher and staff replies. */
  channel: TelegramChannel;
  /** The client whose limiter the bot's calls go through. */
  telegram: TelegramClient;
  /** The bot's texts, with BRAND_NAME. */
  translate: Translator;
}

/**
 * Builds the bot and its middleware without contacting Telegram.
 * @throws Error when no `TELEGRAM_BOT_TOKEN` is configured.
 */
export function buildTelegramBot(options: TelegramBotOptions): TelegramBot {
  const { config, db, log } = options;
  if (!config.telegram.token) throw new Error("TELEGRAM_BOT_TOKEN is not set");
  const deps: BotDeps = {
    config,
    db,
    log,
    chatModel: options.chatModel,
    now: options.now ?? (() => new Date()),
    translate: options.translate ?? defaultTranslator({ brand: config.business.brandName }),
  };
  const telegram =
    options.telegram ??
    createTelegramClient({
      token: config.telegram.token,
      apiRoot: config.telegram.apiRoot,
      limits: options.limits ?? TELEGRAM_LIMITS,
    });
  const bot = new Bot<BotContext>(config.telegram.token, { client: { apiRoot: telegram.apiRoot } });
  // grammY copies the bot's transformers onto the Api of every update: replies share the limiter.
  telegram.install(bot.api);

  if (options.metrics) bot.use(countUpdates(options.metrics));
  bot.use(privateChatsOnly(deps));
  bot.use(caseInsensitiveCommands);
  bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));
  // The conversation state is loaded and stored here, with the update's marker (not grammY's session).
  bot.use(onceOnly(deps));
  bot.use(identify(deps));

  bot.on("my_chat_member", async (ctx) => {
    if (!ctx.customer) return;
    const status = ctx.myChatMember.new_chat_member.status;
    await setReachable(db, ctx.customer.id, status === "kicked", deps.now());
  });
  bot.use(linkHandlers);
  bot.use(consentHandlers);
  bot.use(feedbackHandlers);
  bot.use(complaintCommand);
  bot.on("callback_query:data", async (ctx) => {
    const action = decodeCallback(ctx.callbackQuery.data);
    if (!action) return answerCallback(ctx, "callback-invalid");
    switch (action.type) {
      case "offer":
        return handleOfferCallback(ctx, action);
      case "nps":
      case "servqual_start":
      case "servqual_answer":
      case "servqual_exit":
      case "csat":
        return handleFeedbackCallback(ctx, action);
      case "forget":
      case "optin":
      case "language":
        return handleConsentCallback(ctx, action);
      case "link_move":
        return handleLinkMoveCallback(ctx, action);
      default:
        return assertUnreachable(action);
    }
  });
  bot.use(textHandlers);

  bot.catch((error: BotError<BotContext>) => {
    // Never the message text or the token: the update id and what failed.
    const cause =
      error.error instanceof Error ? `${error.error.name}: ${error.error.message.slice(0, 300)}` : String(error.error);
    log.error({ updateId: error.ctx.update.update_id, err: cause }, "telegram update failed");
  });

  // Staff replies and CSAT requests go through the same limiter as the bot's replies.
  const channel = createTelegramChannel({
    api: telegram.api,
    chatModel: options.chatModel,
    modelTimeoutMs: config.llm.offerTimeoutMs,
    translate: deps.translate,
    enrich: (m) => enrichOutboundMessage(db, m),
    log,
  });
  deps.channel = channel;
  return { bot, channel, telegram, translate: deps.translate };
}

export interface RunningTelegramBot extends TelegramBot {
  stop(): Promise<void>;
}

const ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"] as const;

/** The commands in the client's menu, described in each language (`menu-<command>` in the locale files). */
export const MENU_COMMANDS = ["start", "help", "complaint", "survey", "language", "stop", "mydata", "forget"] as const;

/**
 * Sets the command menu for each supported language, and the default language's for everyone else.
 * A failure is logged, never fatal: the bot works without a menu.
 */
export async function setCommandMenu(
  api: Bot<BotContext>["api"],
  translate: Translator,
  defaultLocale: Locale,
  log: Logger,
): Promise<void> {
  const commands = (locale: Locale) =>
    MENU_COMMANDS.map((command) => ({ command, description: translate(locale, `menu-${command}`) }));
  try {
    await api.setMyCommands(commands(defaultLocale));
    for (const locale of SUPPORTED_LOCALES) await api.setMyCommands(commands(locale), { language_code: locale });
  } catch (error) {
    log.warn({ err: error instanceof Error ? error.message : String(error) }, "could not set the command menu");
  }
}

/**
 * Starts the bot: long polling with the runner, or a webhook server (TELEGRAM_MODE). Without an
 * explicit `chatModel`, the OpenAI-compatible model is used when OPENAI_API_KEY is set.
 */
export async function startTelegramBot(options: TelegramBotOptions): Promise<RunningTelegramBot> {
  const built = buildTelegramBot({ ...options, chatModel: options.chatModel ?? chatModelFromConfig(options.config) });
  const { bot } = built;
  const { config, db, log } = options;
  await bot.init();
  await setCommandMenu(bot.api, built.translate, config.business.locale, log);
  if (config.telegram.mode === "webhook") {
    const secretToken = config.telegram.webhookSecret!;
    const handle = webhookCallback(bot, "http", { secretToken });
    const server = http.createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        log.error({ err: error instanceof Error ? error.message : String(error) }, "webhook handler failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(config.telegram.webhookPort, resolve));
    await bot.api.setWebhook(config.telegram.webhookUrl!, {
      secret_token: secretToken,
      allowed_updates: [...ALLOWED_UPDATES],
    });
    log.info({ port: config.telegram.webhookPort, bot: bot.botInfo.username }, "telegram bot listening for webhooks");
    return { ...built, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  const runner = await startPolling(bot, { db, log, allowedUpdates: [...ALLOWED_UPDATES] });
  log.info({ bot: bot.botInfo.username }, "telegram bot polling");
  return {
    ...built,
    stop: async () => {
      if (runner.isRunning()) await runner.stop();
    },
  };
}
