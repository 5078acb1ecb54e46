// `retention start` (`npm start`): the long-running process. Starts the Telegram bot, the Slack
// app and the scheduler, each only when it can run (credentials present, SCHEDULER_ENABLED).
// Without a Telegram token the dispatcher renders messages to the log (dry run). The external
// clients (Telegram with its one limiter, Slack, the chat model) come from the process runtime.
import type { Command } from "commander";
import { createLangchainAssistant } from "../../bot/slack/assistant/langchain-assistant";
import { buildSlackApp, startSlackApp } from "../../bot/slack/app";
import { startTelegramBot } from "../../bot/telegram/bot";
import { buildContext } from "../context";
import { loadJobs } from "../job-registry";
import { runtimeFor } from "../runtime";
import { startScheduler } from "../scheduler";

export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description("Run the Telegram bot, the Slack app and the scheduler (each when configured) until stopped")
    .action(async () => {
      const ctx = await buildContext();
      const { config, db, log } = ctx;
      const runtime = runtimeFor(ctx);
      const stops: (() => Promise<void>)[] = [() => runtime.stop()];
      // Offers, staff replies and CSAT requests: one channel over the one Telegram limiter.
      const staffReplies = runtime.channel(db);

      if (runtime.telegram) {
        const bot = await startTelegramBot({
          config,
          db,
          log,
          telegram: runtime.telegram,
          chatModel: runtime.chatModel,
        });
        stops.push(() => bot.stop());
      } else log.warn("TELEGRAM_BOT_TOKEN not set: Telegram bot off, messages are rendered to the log (dry run)");

      if (config.slack.botToken) {
        const assistant = config.llm.apiKey
          ? createLangchainAssistant({ config, db, now: () => new Date() })
          : undefined;
        const slack = await startSlackApp(buildSlackApp({ config, db, log, assistant, telegramChannel: staffReplies }));
        stops.push(() => slack.stop());
      } else log.warn("SLACK_BOT_TOKEN not set: Slack app off");

      if (config.schedule.enabled) {
        const scheduler = startScheduler(ctx, { jobs: await loadJobs() });
        stops.push(() => scheduler.stop());
      } else log.warn("SCHEDULER_ENABLED=false: no scheduled jobs in this process");

      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, "stopping");
          resolve();
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      for (const stop of stops.reverse())
        await stop().catch((error: unknown) => log.error({ err: error }, "stop failed"));
      await ctx.close();
    });
}
