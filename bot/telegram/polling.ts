// Long polling that loses no update when the process dies. The runner asks Telegram for the next
// batch while the last one is still being handled, and that request confirms the last batch: an
// update being handled at a SIGKILL would never come again. So each batch is kept in the store
// (`processed_updates.payload`) before the runner may ask for the next, and updates kept but never
// finished are handled at start, before any new one.
import {
  createConcurrentSink,
  createRunner,
  createSource,
  createUpdateFetcher,
  type RunnerHandle,
} from "@grammyjs/runner";
import { BotError, type Bot } from "grammy";
import type { Update } from "grammy/types";
import { recordReceived, unfinishedUpdates } from "../../core/conversation/chats";
import type { Database } from "../../core/db/client";
import type { Logger } from "../../core/log";
import type { BotContext } from "./bot-context";

/** Telegram keeps an update it was not told of for 24 hours; older unfinished ones are not taken up. */
const UNFINISHED_WINDOW_MS = 24 * 3600_000;
/** How long to wait before trying again to keep a batch while the database fails. */
const KEEP_RETRY_MS = 1000;

export interface PollingOptions {
  db: Database;
  log: Logger;
  allowedUpdates: readonly string[];
  now?: () => Date;
}

async function handleOne(bot: Bot<BotContext>, update: Update, log: Logger): Promise<void> {
  try {
    await bot.handleUpdate(update);
  } catch (error) {
    if (error instanceof BotError) await bot.errorHandler(error);
    else log.error({ updateId: update.update_id, err: String(error) }, "telegram update failed");
  }
}

/** Keeps a batch, trying again while the database fails: its updates are handed out only once kept. */
async function keep(db: Database, log: Logger, updates: Update[], signal: { aborted: boolean }): Promise<void> {
  const rows = updates.map((u) => ({ updateId: String(u.update_id), payload: u }));
  for (;;) {
    try {
      return await recordReceived(db, "telegram", rows);
    } catch (error) {
      if (signal.aborted) throw error;
      log.error({ err: error instanceof Error ? error.message : String(error) }, "could not keep polled updates");
      await new Promise((resolve) => setTimeout(resolve, KEEP_RETRY_MS));
    }
  }
}

/**
 * Handles the updates a previous process left unfinished, then polls (concurrently, as grammY's
 * runner does), keeping every batch before the next getUpdates confirms it.
 */
export async function startPolling(bot: Bot<BotContext>, options: PollingOptions): Promise<RunnerHandle> {
  const { db, log } = options;
  const now = options.now ?? (() => new Date());
  await bot.init();
  const unfinished = (await unfinishedUpdates(
    db,
    "telegram",
    new Date(now().getTime() - UNFINISHED_WINDOW_MS),
  )) as Update[];
  if (unfinished.length > 0) {
    log.warn({ count: unfinished.length }, "handling telegram updates a previous run left unfinished");
    // In their order: updates of one chat are still handled one after another (sequentialize).
    await Promise.all(unfinished.map((update) => handleOne(bot, update, log)));
  }
  const fetchUpdates = createUpdateFetcher(bot, { fetch: { allowed_updates: [...options.allowedUpdates] as never } });
  const source = createSource<Update>({
    supply: async (batchSize, signal) => {
      const updates = await fetchUpdates(batchSize, signal);
      await keep(db, log, updates, signal);
      return updates;
    },
  });
  const sink = createConcurrentSink<Update, BotError<BotContext>>(
    { consume: (update) => bot.handleUpdate(update) },
    async (error) => {
      try {
        await bot.errorHandler(error);
      } catch (failure) {
        log.error({ err: String(failure) }, "telegram error handler failed");
      }
    },
  );
  const runner = createRunner(source, sink);
  runner.start();
  return runner;
}
