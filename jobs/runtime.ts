// The per-process composition root for external clients: the Telegram client (its `Api` and the
// one limiter of its token), the Slack `WebClient` and the chat model are built here once, from
// configuration, and handed to the bot, the Slack app, the jobs and the dispatcher. Building
// contacts nothing; `retention start` and every `retention run ...` build it the same way.
//
// Each client's library is loaded only when it is configured: grammY, Slack's Web API and the
// OpenAI SDK are a few hundred modules, which a command that needs none of them (`retention
// tickets list`, or any command without the tokens) would otherwise load at every start.
import type { WebClient } from "@slack/web-api";
import type { TelegramClient, TelegramLimits } from "../bot/telegram/telegram-api";
import type { Config } from "../core/config/config";
import type { Database } from "../core/db/client";
import type { ChatModel } from "../core/llm/chat-model";
import type { Logger } from "../core/log";
import type { MessageChannel } from "../core/messaging/channel";
import { DryRunChannel } from "../core/messaging/dry-run-channel";
import { defaultTranslator } from "../core/messaging/locales";
import { instrumentChatModel } from "../core/ops/instrumented-chat-model";
import type { Metrics } from "../core/ops/metrics";
import { enrichOutboundMessage } from "../core/offers/offer-context";

export interface Runtime {
  /** The Telegram client of `TELEGRAM_BOT_TOKEN`, or undefined without a token. */
  telegram: TelegramClient | undefined;
  /** The Slack Web API client of `SLACK_BOT_TOKEN`, or undefined without a token. */
  slack: WebClient | undefined;
  /** The OpenAI-compatible chat model, or undefined without `OPENAI_API_KEY`. */
  chatModel: ChatModel | undefined;
  /**
   * The channel every outbound message of `db` goes through: Telegram over the shared client
   * (offers written by the chat model when there is one), or the dry run without a token.
   */
  channel(db: Database): MessageChannel;
  /** Releases the limiter's timers. */
  stop(): Promise<void>;
}

export interface RuntimeOverrides {
  /** Telegram's limits; default from TELEGRAM_RATE_PER_SECOND / TELEGRAM_CHAT_RATE_PER_SECOND. */
  telegramLimits?: TelegramLimits;
  chatModel?: ChatModel;
  /** Where Telegram's 429s and the model's calls are counted (`retention start` with HTTP_PORT). */
  metrics?: Metrics;
}

/** Telegram's limits as configured. */
export function telegramLimitsFromConfig(config: Config): TelegramLimits {
  return { perSecond: config.telegram.ratePerSecond, perChatPerSecond: config.telegram.chatRatePerSecond };
}

/** Builds the external clients from configuration without contacting anything. */
export async function buildRuntime(config: Config, log: Logger, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const model =
    overrides.chatModel ??
    (config.llm.apiKey ? (await import("../bot/llm/openai-chat")).chatModelFromConfig(config) : undefined);
  const chatModel = model && overrides.metrics ? instrumentChatModel(model, overrides.metrics) : model;
  const translate = defaultTranslator({ brand: config.business.brandName });
  const { token, apiRoot } = config.telegram;
  let telegram: TelegramClient | undefined;
  // The channel of one database over the shared client; undefined without a token.
  let telegramChannel: ((db: Database) => MessageChannel) | undefined;
  if (token) {
    const [{ createTelegramClient }, { countRateLimits }, { createTelegramChannel }] = await Promise.all([
      import("../bot/telegram/telegram-api"),
      import("../bot/telegram/metrics"),
      import("../bot/telegram/telegram-channel"),
    ]);
    const client = createTelegramClient({
      token,
      apiRoot,
      limits: overrides.telegramLimits ?? telegramLimitsFromConfig(config),
      inner: overrides.metrics ? [countRateLimits(overrides.metrics)] : [],
    });
    telegram = client;
    telegramChannel = (db) =>
      createTelegramChannel({
        api: client.api,
        chatModel,
        modelTimeoutMs: config.llm.offerTimeoutMs,
        translate,
        enrich: (m) => enrichOutboundMessage(db, m),
        log,
      });
  }
  const { botToken, apiUrl } = config.slack;
  let slack: WebClient | undefined;
  if (botToken) {
    const { WebClient } = await import("@slack/web-api");
    slack = new WebClient(botToken, apiUrl ? { slackApiUrl: apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/` } : {});
  }
  const channels = new WeakMap<Database, MessageChannel>();
  return {
    telegram,
    slack,
    chatModel,
    channel(db) {
      let channel = channels.get(db);
      if (!channel) {
        channel = telegramChannel?.(db) ?? new DryRunChannel(log, { translate });
        channels.set(db, channel);
      }
      return channel;
    },
    stop: async () => {
      await telegram?.limiter.stop();
    },
  };
}

// One runtime per parsed configuration: a process parses its configuration once, so every part
// of it that asks (the scheduler's jobs, the bot, a CLI command) gets the same clients.
const runtimes = new WeakMap<Config, Promise<Runtime>>();

/** The process's runtime for `ctx.config`, built on first use. */
export function runtimeFor(ctx: { config: Config; log: Logger }, overrides?: RuntimeOverrides): Promise<Runtime> {
  let runtime = runtimes.get(ctx.config);
  if (!runtime) {
    runtime = buildRuntime(ctx.config, ctx.log, overrides);
    runtimes.set(ctx.config, runtime);
  }
  return runtime;
}
