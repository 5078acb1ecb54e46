// How core hands a message to a chat channel. The Telegram adapter implements
// `MessageChannel`; without a token a dry-run channel renders to the log instead.

/** What an outbound message is for; the renderer picks the wording by kind. */
export type MessageKind =
  "offer" | "survey_nps" | "survey_servqual" | "ticket_ack" | "ticket_reply" | "csat_request" | "notice";

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
      error: string;
    };

export interface MessageChannel {
  readonly name: string;
  send(message: OutboundMessage): Promise<SendResult>;
}
