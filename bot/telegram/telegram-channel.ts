// The Telegram `MessageChannel`: renders an outbound message and sends it with grammY's `Api`.
// Telegram's answers are mapped to what the dispatcher needs to decide: blocked or unknown chats
// are unreachable (stop trying), 429 / 5xx / network failures are retryable, the rest permanent.
import { GrammyError, HttpError, type Api } from "grammy";
import type { ChatModel } from "../../core/llm/chat-model";
import type { PromptSource } from "../../core/llm/prompts";
import type { Logger } from "../../core/log";
import type { MessageChannel, OutboundMessage, SendResult } from "../../core/messaging/channel";
import type { Translator } from "../../core/messaging/locales";
import { renderMessage, type RenderedMessage } from "../../core/messaging/render";
import { createTelegramApi, type TelegramApiOptions } from "./telegram-api";

export interface TelegramChannelOptions {
  /** An `Api` already set up (the bot's); otherwise one is built from `token` and `apiRoot`. */
  api?: Api;
  token?: string;
  apiRoot?: string;
  throttle?: TelegramApiOptions["throttle"];
  chatModel?: ChatModel;
  prompts?: PromptSource;
  translate?: Translator;
  /** Adds context to a message before rendering (e.g. core/offers `enrichOutboundMessage`). */
  enrich?: (message: OutboundMessage) => Promise<OutboundMessage>;
  log?: Logger;
}

/** Maps a failed Bot API call to a `SendResult`. */
export function sendFailure(error: unknown): Extract<SendResult, { ok: false }> {
  if (error instanceof GrammyError) {
    const description = error.description.toLowerCase();
    if (error.error_code === 429) {
      const retryAfter = error.parameters.retry_after;
      return {
        ok: false,
        retryable: true,
        ...(retryAfter ? { retryAfterMs: retryAfter * 1000 } : {}),
        error: `429: ${error.description}`,
      };
    }
    if (
      error.error_code === 403 ||
      description.includes("chat not found") ||
      description.includes("user is deactivated")
    ) {
      return { ok: false, retryable: false, unreachable: true, error: `${error.error_code}: ${error.description}` };
    }
    if (error.error_code >= 500)
      return { ok: false, retryable: true, error: `${error.error_code}: ${error.description}` };
    return { ok: false, retryable: false, error: `${error.error_code}: ${error.description}` };
  }
  if (error instanceof HttpError) return { ok: false, retryable: true, error: `network: ${error.message}` };
  throw error;
}

/** Inline keyboard markup from rendered buttons. */
export function inlineKeyboard(rendered: RenderedMessage) {
  return rendered.buttons?.length
    ? { inline_keyboard: rendered.buttons.map((row) => row.map((b) => ({ text: b.text, callback_data: b.data }))) }
    : undefined;
}

export class TelegramChannel implements MessageChannel {
  readonly name = "telegram";
  readonly api: Api;

  constructor(private readonly options: TelegramChannelOptions) {
    if (options.api) this.api = options.api;
    else if (options.token && options.apiRoot)
      this.api = createTelegramApi({ token: options.token, apiRoot: options.apiRoot, throttle: options.throttle });
    else throw new Error("TelegramChannel needs an api, or a token and an apiRoot");
  }

  async send(input: OutboundMessage): Promise<SendResult> {
    if (input.chatId === null)
      return { ok: false, retryable: false, unreachable: true, error: "no linked Telegram chat" };
    const message = this.options.enrich ? await this.options.enrich(input) : input;
    const rendered = await renderMessage(message, {
      locale: message.locale,
      chatModel: this.options.chatModel,
      prompts: this.options.prompts,
      translate: this.options.translate,
      log: this.options.log,
    });
    try {
      const sent = await this.api.sendMessage(Number(message.chatId), rendered.text, {
        reply_markup: inlineKeyboard(rendered),
      });
      return { ok: true, providerId: String(sent.message_id) };
    } catch (error) {
      const failure = sendFailure(error);
      this.options.log?.warn(
        { outboxId: message.outboxId, kind: message.kind, error: failure.error, retryable: failure.retryable },
        "telegram send failed",
      );
      return failure;
    }
  }
}

/** Builds the channel; see `TelegramChannelOptions`. */
export function createTelegramChannel(options: TelegramChannelOptions): TelegramChannel {
  return new TelegramChannel(options);
}
