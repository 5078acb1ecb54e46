// `retention start` (`npm start`): the long-running process. Starts the Telegram bot, the Slack
// app and the scheduler, each only when it can run (credentials present, SCHEDULER_ENABLED).
// Without a Telegram token the dispatcher renders messages to the log (dry run).
import type { Command } from "commander";
import { createLangchainAssistant } from "../../bot/slack/assistant/langchain-assistant";
import { buildSlackApp, startSlackApp } from "../../bot/slack/app";
import { startTelegramBot } from "../../bot/telegram/bot";
import type { MessageChannel } from "../../core/messaging/channel";
import { buildContext } from "../context";
import { startOps } from "../http/ops";
import { loadJobs } from "../job-registry";
import { startScheduler } from "../scheduler";

export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description("Run the Telegram bot, the Slack app and the scheduler (each when configured) until stopped")
    .action(async () => {
      const ctx = await buildContext({ waitForOwner: true });
      const { config, db, log } = ctx;
      // Health and metrics first, so /healthz answers (503, "starting") while the parts start.
      const { parts, metrics, close: closeOps } = await startOps(ctx);
      for (const part of ["bot", "slack", "scheduler", "dispatcher"]) parts.set(part, "starting");
      const stops: (() => Promise<void>)[] = [closeOps];
      let staffReplies: MessageChannel | undefined;

      if (config.telegram.token) {
        const bot = await startTelegramBot({ config, db, log });
        staffReplies = bot.channel;
        stops.push(() => bot.stop());
        parts.set("bot", "running");
      } else {
        log.warn("TELEGRAM_BOT_TOKEN not set: Telegram bot off, messages are rendered to the log (dry run)");
        parts.set("bot", "off", "TELEGRAM_BOT_TOKEN not set");
      }

      if (config.slack.botToken) {
        const assistant = config.llm.apiKey
          ? createLangchainAssistant({ config, db, now: () => new Date() })
          : undefined;
        const slack = await startSlackApp(buildSlackApp({ config, db, log, assistant, telegramChannel: staffReplies }));
        stops.push(() => slack.stop());
        parts.set("slack", "running");
      } else {
        log.warn("SLACK_BOT_TOKEN not set: Slack app off");
        parts.set("slack", "off", "SLACK_BOT_TOKEN not set");
      }

      if (config.schedule.enabled) {
        const scheduler = startScheduler(ctx, { jobs: await loadJobs(), metrics });
        stops.push(() => scheduler.stop());
        parts.set("scheduler", "running");
        parts.set("dispatcher", "running", config.telegram.token ? undefined : "dry run: messages rendered to the log");
      } else {
        log.warn("SCHEDULER_ENABLED=false: no scheduled jobs in this process");
        parts.set("scheduler", "off", "SCHEDULER_ENABLED=false");
        parts.set("dispatcher", "off", "SCHEDULER_ENABLED=false");
      }

      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, "stopping");
          resolve();
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      for (const [part, status] of Object.entries(parts.snapshot()))
        if (status.state !== "off") parts.set(part, "stopping");
      for (const stop of stops.reverse())
        await stop().catch((error: unknown) => log.error({ err: error }, "stop failed"));
      await ctx.close();
    });
}
