import type { Context, SessionFlavor } from "grammy";
import type { Config } from "../../core/config/config";
import type { ChatCustomer } from "../../core/conversation/chats";
import type { ConversationDeps } from "../../core/conversation/conversation";
import type { ConversationState } from "../../core/conversation/state";
import type { Database } from "../../core/db/client";
import type { ChatModel } from "../../core/llm/chat-model";
import type { Logger } from "../../core/log";
import type { MessageChannel } from "../../core/messaging/channel";
import type { Locale, Translator } from "../../core/messaging/locales";
import type { OpenedTicket, UpdateOutcome } from "../../core/tickets/tickets";

/** What the bot remembers per chat between updates (stored in `conversations`): core's state. */
export type SessionData = ConversationState;

export interface BotDeps {
  config: Config;
  db: Database;
  log: Logger;
  chatModel?: ChatModel;
  /** The outbox's channel: messages to chats other than the update's go through it (set once built). */
  channel?: MessageChannel;
  now: () => Date;
  translate: Translator;
}

/** The conversation core's dependencies, from the bot's. */
export function conversationDeps(deps: BotDeps): ConversationDeps {
  return {
    db: deps.db,
    log: deps.log,
    chatModel: deps.chatModel,
    timeoutMinutes: deps.config.conversation.timeoutMinutes,
    intentTimeoutMs: deps.config.llm.intentTimeoutMs,
    supportResponseHours: deps.config.conversation.supportResponseHours,
  };
}

/** The customer linked to the chat, as core reads it, with their newest ticket not resolved when it was read with them. */
export type LinkedCustomer = ChatCustomer & { openTicket?: OpenedTicket | null };

export interface BotFlavor {
  deps: BotDeps;
  /** The customer linked to this chat, or null. */
  customer: LinkedCustomer | null;
  /** What this update's write already did, when a crash came before its replies (see `onceOnly`). */
  recorded: UpdateOutcome | null;
  locale: Locale;
  /** Translates in the chat's locale. */
  tr(key: string, vars?: Record<string, string | number>): string;
}

export type BotContext = Context & SessionFlavor<SessionData> & BotFlavor;
