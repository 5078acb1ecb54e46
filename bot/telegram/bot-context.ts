import type { Context, SessionFlavor } from "grammy";
import type { Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import type { ServqualState } from "../../core/feedback/servqual";
import type { ChatModel } from "../../core/llm/chat-model";
import type { Logger } from "../../core/log";
import type { Locale, Translator } from "../../core/messaging/locales";

/** What the bot remembers per chat between updates (stored in `conversations`). */
export interface SessionData {
  locale?: Locale;
  flow?:
    | { type: "nps_comment"; feedbackId: number }
    | { type: "servqual"; state: ServqualState }
    | { type: "complaint" }
    | { type: "confirm_forget" }
    | { type: "confirm_optin" };
}

export interface BotDeps {
  config: Config;
  db: Database;
  log: Logger;
  chatModel?: ChatModel;
  now: () => Date;
  translate: Translator;
}

export interface LinkedCustomer {
  id: number;
  name: string | null;
  locale: string | null;
  marketingConsent: boolean;
  unreachableAt: Date | null;
}

export interface BotFlavor {
  deps: BotDeps;
  /** The customer linked to this chat, or null. */
  customer: LinkedCustomer | null;
  locale: Locale;
  /** Translates in the chat's locale. */
  tr(key: string, vars?: Record<string, string | number>): string;
}

export type BotContext = Context & SessionFlavor<SessionData> & BotFlavor;
