// How core hands a message to a chat channel. The Telegram adapter implements
// `MessageChannel`; without a token a dry-run channel renders to the log instead.

/** What an outbound message is for; the renderer picks the wording by kind. */
export type MessageKind =
  | "offer"
  | "survey_nps"
  | "survey_servqual"
  | "ticket_ack"
  | "ticket_reply"
  | "csat_request"
  | "notice"
  /** The linked chat is asked to confirm moving the account to a chat that opened its link. */
  | "link_move";

/** One message claimed from the outbox, ready to render and send. */
export interface OutboundMessage {
  outboxId: number;
  idempotencyKey: string;
  customerId: number | null;
  /** Telegram chat id, or null when the customer has no linked chat. */
  chatId: bigint | null;
  locale: string;
  kind: MessageKind;
  payload: Record<string, unknown>;
}

export type SendResult =
  | { ok: true; providerId: string }
  | {
      ok: false;
      /** Transient (network, 5xx, 429): try again later. */
      retryable: boolean;
      /** From Telegram's `retry_after`, when it said so. */
      retryAfterMs?: number;
      /** Permanent for this customer: blocked the bot, chat not found. */
      unreachable?: boolean;
      /**
       * The provider may or may not have the message (the connection broke or the deadline hit
       * mid-call). The outbox decides what that means for the message's kind (`settleInDoubt`).
       */
      inDoubt?: boolean;
      /** The provider never got it (it gave up waiting in our limiter): retried soon, no attempt spent. */
      notSent?: boolean;
      error: string;
    };

export interface RenderedButton {
  text: string;
  data: string;
}

/** A file sent to the customer (a staff reply's attachment), its bytes in base64. */
export interface RenderedDocument {
  fileName: string;
  base64: string;
}

/** The words and buttons a customer sees. */
export interface RenderedMessage {
  text: string;
  /** `text` is Telegram HTML (tags for bold, links..., everything else escaped). */
  html?: boolean;
  /** Sent as a document with `text` as its caption. */
  document?: RenderedDocument;
  buttons?: RenderedButton[][];
  /** Offer the "share my phone number" button, labelled with this text (instead of `buttons`). */
  requestPhone?: string;
  /** Remove a reply keyboard shown earlier (the phone button). */
  removeKeyboard?: boolean;
  /**
   * Replaces the text of a message sent earlier (`providerId` as `send` returned it) instead of
   * sending a new one: a staff reply edited after it was delivered.
   */
  replaces?: string;
}

export interface SendOptions {
  /**
   * Aborts when the caller's time is up (the outbox bounds every send below its claim lease).
   * A channel gives up waiting at once; a call already on the wire ends `inDoubt`.
   */
  signal?: AbortSignal;
}

export interface MessageChannel {
  readonly name: string;
  /**
   * Writes the message (LLM copy included) before anything is marked in flight. The outbox calls
   * it first and hands the result to `send` as `rendered`; a channel without it renders nothing.
   * @throws when the payload cannot be rendered (the message fails for good, unsent).
   */
  render?(message: OutboundMessage): Promise<RenderedMessage>;
  send(message: OutboundMessage & { rendered?: RenderedMessage }, options?: SendOptions): Promise<SendResult>;
  /**
   * Removes the buttons of a message sent earlier (`providerId` as `send` returned it), e.g. an
   * offer that expired. A channel without buttons leaves it out.
   * @returns false when the provider refused (the message is gone, the chat blocked us).
   */
  removeButtons?(chatId: bigint, providerId: string): Promise<boolean>;
  /**
   * Fetches a file the customer sent (a photo, a document, a voice note...) by the provider's
   * reference, for staff to see. A channel that keeps no files leaves it out.
   * @throws when the provider refuses or the download fails.
   */
  downloadFile?(fileId: string, options?: { maxBytes?: number; signal?: AbortSignal }): Promise<DownloadedFile>;
}

/** A customer's file fetched from the channel. */
export interface DownloadedFile {
  /** The provider's name for it (e.g. `photos/file_3.jpg`, last path part). */
  fileName: string;
  bytes: Buffer;
}
