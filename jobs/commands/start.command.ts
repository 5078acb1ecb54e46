// `retention start` (`npm start`): the long-running process. Starts the Telegram bot, the Slack
// app and the scheduler, each only when it can run (credentials present, SCHEDULER_ENABLED), and
// with HTTP_PORT the health, metrics and order-feed endpoints. External clients (the Telegram
// client with its one limiter, the Slack client, the chat model) are built once, in the runtime.
// Without a Telegram token the dispatcher renders messages to the log (dry run).
import type { Command } from "commander";
import { staffDeskStatus } from "../../core/staff/desk-status";
import { buildContext } from "../context";
import { startOps } from "../http/ops";
import { createIngestRoutes } from "../ingest/routes";
import { loadJobs } from "../job-registry";
import { runtimeFor } from "../runtime";
import { startScheduler } from "../scheduler";

export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description("Run the Telegram bot, the Slack app and the scheduler (each when configured) until stopped")
    .action(async () => {
      const ctx = await buildContext({ waitForOwner: true });
      const { config, db, log } = ctx;
      // Health and metrics first, so /healthz answers (503, "starting") while the parts start.
      const ingest = createIngestRoutes({
        db,
        apiKeys: config.ingest.apiKeys,
        timeZone: config.business.timeZone,
        now: ctx.now,
        erasure: config.erasure,
      });
      const { parts, metrics, close: closeOps } = await startOps(ctx, { routes: [ingest] });
      for (const part of ["bot", "slack", "scheduler", "dispatcher"]) parts.set(part, "starting");
      const runtime = await runtimeFor(ctx, { metrics });
      const stops: (() => Promise<void>)[] = [closeOps, () => runtime.stop()];
      // Offers, staff replies and CSAT requests: one channel over the one Telegram limiter.
      const staffReplies = runtime.channel(db);

      if (runtime.telegram) {
        // The bot, the Slack app and the assistant are loaded only here: every other command of the
        // CLI registers this one, and loading them (LangChain above all) cost each command seconds.
        const { startTelegramBot } = await import("../../bot/telegram/bot");
        const bot = await startTelegramBot({
          config,
          db,
          log,
          telegram: runtime.telegram,
          chatModel: runtime.chatModel,
          metrics,
        });
        stops.push(() => bot.stop());
        parts.set("bot", "running");
      } else {
        log.warn("TELEGRAM_BOT_TOKEN not set: Telegram bot off, messages are rendered to the log (dry run)");
        parts.set("bot", "off", "TELEGRAM_BOT_TOKEN not set");
      }

      if (config.slack.botToken) {
        const { buildSlackApp, startSlackApp } = await import("../../bot/slack/app");
        const { createLangchainAssistant } = await import("../../bot/slack/assistant/langchain-assistant");
        const assistant = config.llm.apiKey
          ? createLangchainAssistant({ config, db, now: () => new Date() })
          : undefined;
        const slack = await startSlackApp(buildSlackApp({ config, db, log, assistant, telegramChannel: staffReplies }));
        stops.push(() => slack.stop());
        parts.set("slack", "running");
        // Staff alerts that cannot reach Slack show in /healthz as well as in /retention status.
        const watchDesk = setInterval(() => {
          staffDeskStatus(db)
            .then((desk) =>
              parts.set(
                "slack",
                desk.ok ? "running" : "failed",
                desk.ok ? undefined : (desk.lastError ?? "staff alerts are not reaching Slack"),
              ),
            )
            .catch(() => undefined);
        }, 15_000);
        watchDesk.unref();
        stops.push(async () => clearInterval(watchDesk));
      } else {
        log.warn("SLACK_BOT_TOKEN not set: Slack app off");
        parts.set("slack", "off", "SLACK_BOT_TOKEN not set");
      }

      if (config.schedule.enabled) {
        const scheduler = startScheduler(ctx, { jobs: await loadJobs(), metrics });
        stops.push(() => scheduler.stop());
        parts.set("scheduler", "running");
        parts.set("dispatcher", "running", runtime.telegram ? undefined : "dry run: messages rendered to the log");
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
