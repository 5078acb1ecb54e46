// The channel used when no Telegram token is configured: every message is rendered exactly as
// the Telegram channel would render it, and a summary goes to the log instead of a chat.
// The summary carries ids, kind, length and button labels, never the text itself (it may hold
// a name) nor an offer's code.
import type { Logger } from "../log";
import type { MessageChannel, OutboundMessage, RenderedMessage, SendResult } from "./channel";
import type { Translator } from "./locales";
import { renderMessage } from "./render";

export interface DryRunSummary {
  outboxId: number;
  customerId: number | null;
  kind: string;
  locale: string;
  chars: number;
  buttons: string[];
}

/** A `MessageChannel` that renders and logs; `sent` keeps the summaries for callers that count. */
export class DryRunChannel implements MessageChannel {
  readonly name = "dry-run";
  readonly sent: DryRunSummary[] = [];

  constructor(
    private readonly log: Logger,
    private readonly options: { keep?: boolean; translate?: Translator } = {},
  ) {}

  /** The template text, as the Telegram channel would write it without a model. */
  render(message: OutboundMessage): Promise<RenderedMessage> {
    return renderMessage(message, { locale: message.locale, translate: this.options.translate, log: this.log });
  }

  /** Logs the rendered message; a payload its kind cannot render is a permanent failure. */
  async send(message: OutboundMessage & { rendered?: RenderedMessage }): Promise<SendResult> {
    let rendered;
    try {
      rendered = message.rendered ?? (await this.render(message));
    } catch (error) {
      return {
        ok: false,
        retryable: false,
        error: `render failed: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`,
      };
    }
    const summary: DryRunSummary = {
      outboxId: message.outboxId,
      customerId: message.customerId,
      kind: message.kind,
      locale: message.locale,
      chars: rendered.text.length,
      buttons: (rendered.buttons ?? []).flat().map((b) => b.text),
    };
    if (this.options.keep) this.sent.push(summary);
    this.log.info(summary, "dry run: message rendered, not sent");
    return { ok: true, providerId: `dry-run:${message.outboxId}` };
  }
}
