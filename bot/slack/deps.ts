import type { Assistant } from "../../core/assistant/assistant";
import type { Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import type { Logger } from "../../core/log";
import type { MessageChannel } from "../../core/messaging/channel";
import type { StaffGuard } from "./staff-guard";

/** What every Slack handler works with; built once in `buildSlackApp`. */
export interface SlackDeps {
  config: Config;
  db: Database;
  log: Logger;
  now: () => Date;
  guard: StaffGuard;
  assistant: Assistant;
  /** Where staff replies and CSAT requests reach the customer (Telegram, or the dry run). */
  telegramChannel: MessageChannel;
}
