// The Telegram `MessageChannel`: renders an outbound message (before the outbox marks it in
// flight) and sends it through the process's one Telegram client, so it shares the limiter with
// the bot's replies. Telegram's answers are mapped to what the outbox needs to decide: blocked or
// unknown chats are unreachable (stop trying), 429 / 5xx / a call that never left are retryable,
// a call cut off on the wire is in doubt, the rest permanent.
import { GrammyError, HttpError, InputFile, type Api } from "grammy";
import type { ChatModel } from "../../core/llm/chat-model";
import type { PromptSource } from "../../core/llm/prompts";
import type { Logger } from "../../core/log";
import type {
  DownloadedFile,
  MessageChannel,
  OutboundMessage,
  RenderedMessage,
  SendOptions,
  SendResult,
} from "../../core/messaging/channel";
import type { Translator } from "../../core/messaging/locales";
import { renderMessage } from "../../core/messaging/render";
import { createTelegramClient, NotSentError, type TelegramLimits } from "./telegram-api";

export interface TelegramChannelOptions {
  /** The process's `Api` (from jobs/runtime.ts, or the bot's); otherwise one is built from `token` and `apiRoot`. */
  api?: Api;
  token?: string;
  apiRoot?: string;
  /** Limits for an `Api` built here (tests only); default Telegram's. */
  limits?: TelegramLimits;
  chatModel?: ChatModel;
  /** How long an offer's text by the model is awaited before the template is used. */
  modelTimeoutMs?: number;
  prompts?: PromptSource;
  translate?: Translator;
  /** Adds context to a message before rendering (e.g. core/offers `enrichOutboundMessage`). */
  enrich?: (message: OutboundMessage) => Promise<OutboundMessage>;
  log?: Logger;
}

// A connection that was never made carried nothing: safe to send again.
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { error?: unknown; cause?: unknown }).error ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps a failed Bot API call to a `SendResult`. */
export function sendFailure(error: unknown): Extract<SendResult, { ok: false }> {
  if (error instanceof NotSentError)
    return {
      ok: false,
      retryable: true,
      notSent: true,
      retryAfterMs: error.retryAfterMs ?? 1000,
      error: `not sent: ${error.message}`,
    };
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
  if (error instanceof HttpError) {
    const code = errorCode(error);
    if (code && NEVER_CONNECTED.has(code)) return { ok: false, retryable: true, error: `network: ${code}` };
    return { ok: false, retryable: true, inDoubt: true, error: `network: ${error.message.slice(0, 200)}` };
  }
  throw error;
}

/** Inline keyboard markup from rendered buttons. */
export function inlineKeyboard(rendered: RenderedMessage) {
  if (rendered.requestPhone)
    return {
      keyboard: [[{ text: rendered.requestPhone, request_contact: true }]],
      resize_keyboard: true,
      one_time_keyboard: true,
    };
  if (rendered.removeKeyboard) return { remove_keyboard: true as const };
  return inlineButtons(rendered);
}

/** The message's inline buttons, the only markup an edit can carry. */
function inlineButtons(rendered: RenderedMessage) {
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
      this.api = createTelegramClient({ token: options.token, apiRoot: options.apiRoot, limits: options.limits }).api;
    else throw new Error("TelegramChannel needs an api, or a token and an apiRoot");
  }

  async render(input: OutboundMessage): Promise<RenderedMessage> {
    const message = this.options.enrich ? await this.options.enrich(input) : input;
    return renderMessage(message, {
      locale: message.locale,
      chatModel: this.options.chatModel,
      modelTimeoutMs: this.options.modelTimeoutMs,
      prompts: this.options.prompts,
      translate: this.options.translate,
      log: this.options.log,
    });
  }

  async send(
    message: OutboundMessage & { rendered?: RenderedMessage },
    options: SendOptions = {},
  ): Promise<SendResult> {
    if (message.chatId === null)
      return { ok: false, retryable: false, unreachable: true, error: "no linked Telegram chat" };
    const rendered = message.rendered ?? (await this.render(message));
    try {
      const parse_mode = rendered.html ? ("HTML" as const) : undefined;
      // grammY types its signal with the abort-controller shim; Node's is what it uses.
      const signal = options.signal as Parameters<Api["sendMessage"]>[3];
      if (rendered.replaces) return await this.edit(Number(message.chatId), rendered.replaces, rendered, signal);
      const sent = rendered.document
        ? await this.api.sendDocument(
            Number(message.chatId),
            new InputFile(Buffer.from(rendered.document.base64, "base64"), rendered.document.fileName),
            { caption: rendered.text.slice(0, 1024), parse_mode, reply_markup: inlineKeyboard(rendered) },
            signal,
          )
        : await this.api.sendMessage(
            Number(message.chatId),
            rendered.text,
            { reply_markup: inlineKeyboard(rendered), parse_mode },
            signal,
          );
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

  /** Replaces a delivered message's text; Telegram's "not modified" (the same text) counts as done. */
  private async edit(
    chatId: number,
    providerId: string,
    rendered: RenderedMessage,
    signal: Parameters<Api["editMessageText"]>[4],
  ): Promise<SendResult> {
    const messageId = Number(providerId);
    if (!Number.isSafeInteger(messageId))
      return { ok: false, retryable: false, error: `no Telegram message id to edit (${providerId.slice(0, 40)})` };
    try {
      await this.api.editMessageText(
        chatId,
        messageId,
        rendered.text,
        {
          parse_mode: rendered.html ? "HTML" : undefined,
          // An edit can only carry inline buttons (never the phone button or a keyboard removal).
          reply_markup: inlineButtons(rendered),
        },
        signal,
      );
    } catch (error) {
      if (!(error instanceof GrammyError && error.description.includes("not modified"))) throw error;
    }
    return { ok: true, providerId };
  }

  /**
   * A customer's file: `getFile` for its path, then the download from the Bot API's file root
   * (`<apiRoot>/file/bot<token>/<path>`), through the same limiter for the `getFile` call.
   */
  async downloadFile(
    fileId: string,
    options: { maxBytes?: number; signal?: AbortSignal } = {},
  ): Promise<DownloadedFile> {
    const file = await this.api.getFile(fileId, options.signal as Parameters<Api["getFile"]>[1]);
    if (!file.file_path) throw new Error("Telegram gave no file path (the file may be too large to download)");
    if (options.maxBytes !== undefined && (file.file_size ?? 0) > options.maxBytes)
      throw new Error(`the file is larger than ${Math.round(options.maxBytes / 1024 / 1024)} MB`);
    const root = (this.api.options?.apiRoot ?? "https://api.telegram.org").replace(/\/$/, "");
    const response = await fetch(`${root}/file/bot${this.api.token}/${file.file_path}`, {
      signal: options.signal ?? AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`the file download answered ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (options.maxBytes !== undefined && bytes.length > options.maxBytes)
      throw new Error(`the file is larger than ${Math.round(options.maxBytes / 1024 / 1024)} MB`);
    return { fileName: file.file_path.split("/").pop() || fileId, bytes };
  }

  async removeButtons(chatId: bigint, providerId: string): Promise<boolean> {
    const messageId = Number(providerId);
    if (!Number.isSafeInteger(messageId)) return false;
    try {
      await this.api.editMessageReplyMarkup(Number(chatId), messageId, { reply_markup: { inline_keyboard: [] } });
      return true;
    } catch (error) {
      // Already bare ("message is not modified") is what we wanted.
      if (error instanceof GrammyError && error.description.includes("not modified")) return true;
      if (error instanceof GrammyError || error instanceof HttpError) {
        this.options.log?.warn({ error: String(error.message).slice(0, 200) }, "telegram buttons not removed");
        return false;
      }
      throw error;
    }
  }
}

/** Builds the channel; see `TelegramChannelOptions`. */
export function createTelegramChannel(options: TelegramChannelOptions): TelegramChannel {
  return new TelegramChannel(options);
}
