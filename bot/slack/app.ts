// The staff's Slack app: one `/retention` command, the complaint desk and the assistant.
// `buildSlackApp` wires everything without starting it (tests drive it over HTTP);
// `startSlackApp` opens the HTTP port or the Socket Mode connection and starts the desk's poll.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { App, HTTPReceiver } from "@slack/bolt";
import type { GenericMessageEvent, MessageChangedEvent } from "@slack/types";
import { unavailableAssistant, loggedAssistant, type Assistant } from "../../core/assistant/assistant";
import type { Config } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import type { Logger } from "../../core/log";
import type { MessageChannel } from "../../core/messaging/channel";
import { DryRunChannel } from "../../core/messaging/dry-run-channel";
import { staffPolicyFromConfig } from "../../core/staff/policy";
import { answerQuestion } from "./assistant-events";
import { registerAppHome } from "./app-home";
import { boltLogger } from "./bolt-logger";
import { registerRetentionCommand } from "./commands";
import { registerCustomerActions } from "./customer-actions";
import type { SlackDeps } from "./deps";
import { createStaffGuard } from "./staff-guard";
import { SlackTicketDesk, type ThreadFile } from "./ticket-desk";

export interface BuildSlackAppOptions {
  config: Config;
  db: Database;
  log: Logger;
  /** The agent; without one the assistant says it is not configured. Questions are logged either way. */
  assistant?: Assistant;
  /** Delivers staff replies and CSAT requests; defaults to the dry run (log only). */
  telegramChannel?: MessageChannel;
  now?: () => Date;
}

export interface SlackAppParts {
  app: App;
  desk: SlackTicketDesk;
  deps: SlackDeps;
  mode: "http" | "socket";
}

/** Builds the Bolt app and its handlers. Needs SLACK_BOT_TOKEN and a signing secret or app token. */
export function buildSlackApp(options: BuildSlackAppOptions): SlackAppParts {
  const { config, db, log } = options;
  const slack = config.slack;
  if (!slack.botToken) throw new Error("SLACK_BOT_TOKEN is not set");
  const mode = slack.appToken ? "socket" : "http";
  if (mode === "http" && !slack.signingSecret)
    throw new Error("SLACK_SIGNING_SECRET (HTTP events) or SLACK_APP_TOKEN (Socket Mode) is required");
  const apiUrl = slack.apiUrl ? (slack.apiUrl.endsWith("/") ? slack.apiUrl : `${slack.apiUrl}/`) : undefined;
  const logger = boltLogger(log);
  const receiver =
    mode === "http"
      ? refuseFutureRequests(
          new HTTPReceiver({ signingSecret: slack.signingSecret!, logger, processBeforeResponse: false }),
        )
      : undefined;
  const app = new App({
    token: slack.botToken,
    ...(mode === "socket" ? { socketMode: true, appToken: slack.appToken } : { receiver }),
    logger,
    processBeforeResponse: false,
    ...(apiUrl ? { clientOptions: { slackApiUrl: apiUrl } } : {}),
  });
  const now = options.now ?? (() => new Date());
  const deps: SlackDeps = {
    config,
    db,
    log,
    now,
    guard: createStaffGuard({ policy: staffPolicyFromConfig(slack), client: app.client, log }),
    assistant: loggedAssistant(db, options.assistant ?? unavailableAssistant(), {
      log,
      now,
      timeoutSeconds: config.assistant.timeoutSeconds,
    }),
    telegramChannel: options.telegramChannel ?? new DryRunChannel(log),
  };
  const desk = new SlackTicketDesk(deps, app.client);

  registerRetentionCommand(app, deps);
  registerCustomerActions(app, deps);
  registerAppHome(app, deps);
  desk.register(app);

  app.event("app_mention", async ({ event, body, client }) => {
    if (!event.user) return;
    await answerQuestion(deps, client, {
      user: event.user,
      channel: event.channel,
      text: event.text,
      ts: event.ts,
      threadTs: event.thread_ts,
      eventId: body.event_id,
      isDirect: false,
    });
  });

  app.event("message", async ({ event, body, client, context }) => {
    if (event.subtype === "message_changed") {
      const changed = event as MessageChangedEvent;
      const edited = changed.message as GenericMessageEvent & { edited?: { ts?: string } };
      const previous = changed.previous_message as GenericMessageEvent | undefined;
      const fileIds = (m?: GenericMessageEvent) => (m?.files ?? []).map((f) => f.id).join(",");
      const filesChanged = !!previous && fileIds(edited) !== fileIds(previous);
      // Only a person's edit of a thread reply, its text or its files (Slack also sends
      // message_changed for unfurls and for a parent whose reply count changed: those carry
      // neither `edited` nor other files).
      if (
        changed.channel === slack.ticketsChannel &&
        (edited.edited?.ts || filesChanged) &&
        edited.user &&
        !edited.bot_id &&
        typeof edited.text === "string" &&
        edited.thread_ts &&
        edited.thread_ts !== edited.ts
      )
        await desk.handleThreadEdit({
          user: edited.user,
          text: edited.text,
          channel: changed.channel,
          ts: edited.ts,
          threadTs: edited.thread_ts,
          editedTs: edited.edited?.ts ?? changed.event_ts,
          eventId: body.event_id,
          textChanged: !previous || previous.text !== edited.text,
          files: edited.files || filesChanged ? threadFiles(edited) : undefined,
          previousFileIds: (previous?.files ?? []).map((f) => f.id),
        });
      return;
    }
    const m = event as GenericMessageEvent;
    // "file_share": a message with files (older clients mark it so; newer ones send no subtype).
    if ((m.subtype !== undefined && m.subtype !== "file_share") || m.bot_id || !m.user || typeof m.text !== "string")
      return;
    // A mention of the app is a question for the assistant (app_mention handles it), never a
    // reply to the customer, even inside a ticket thread.
    if (context.botUserId && m.text.includes(`<@${context.botUserId}>`)) return;
    if (m.channel_type === "im") {
      await answerQuestion(deps, client, {
        user: m.user,
        channel: m.channel,
        text: m.text,
        ts: m.ts,
        threadTs: m.thread_ts,
        eventId: body.event_id,
        isDirect: true,
      });
    } else if (m.channel === slack.ticketsChannel && m.thread_ts && m.thread_ts !== m.ts) {
      await desk.handleThreadMessage({
        user: m.user,
        text: m.text,
        channel: m.channel,
        ts: m.ts,
        threadTs: m.thread_ts,
        eventId: body.event_id,
        files: threadFiles(m),
      });
    }
  });

  // The error boundary: log and keep serving.
  app.error(async (error) => {
    log.error({ err: error.message, code: (error as { code?: string }).code }, "slack handler failed");
  });
  return { app, desk, deps, mode };
}

/** Slack's replay window: requests signed further than this from now, either way, are refused. */
export const REQUEST_MAX_SKEW_SECONDS = 5 * 60;

/**
 * Bolt refuses requests signed more than 5 minutes ago but not ones stamped in the future (a
 * replay kept for later); this answers those 401 before Bolt sees them.
 */
function refuseFutureRequests(receiver: HTTPReceiver): HTTPReceiver {
  const inner = receiver.requestListener;
  receiver.requestListener = (req, res) => {
    const stamp = Number(req.headers["x-slack-request-timestamp"]);
    if (Number.isFinite(stamp) && stamp - Date.now() / 1000 > REQUEST_MAX_SKEW_SECONDS) {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end("x-slack-request-timestamp is in the future");
      req.resume();
      return;
    }
    return inner(req, res);
  };
  return receiver;
}

export interface RunningSlackApp {
  /** The HTTP port (HTTP mode). */
  port?: number;
  stop(): Promise<void>;
}

/** Starts receiving (HTTP on `port`, default SLACK_PORT, or Socket Mode) and the desk's poll. */
export async function startSlackApp(
  parts: SlackAppParts,
  options: { port?: number; pollIntervalMs?: number } = {},
): Promise<RunningSlackApp> {
  let port: number | undefined;
  if (parts.mode === "http") {
    const server = (await parts.app.start(options.port ?? parts.deps.config.slack.port)) as Server;
    port = (server.address() as AddressInfo).port;
  } else await parts.app.start();
  parts.desk.start(options.pollIntervalMs ?? 5_000);
  parts.deps.log.info({ mode: parts.mode, port }, "slack app started");
  return {
    port,
    stop: async () => {
      await parts.desk.stop();
      await parts.app.stop();
    },
  };
}

/** The files of a thread message as the desk takes them. */
function threadFiles(m: GenericMessageEvent): ThreadFile[] {
  return (m.files ?? []).map((f) => ({
    id: f.id,
    name: f.name ?? f.title ?? "file",
    url: f.url_private_download ?? f.url_private ?? "",
    size: f.size ?? 0,
  }));
}
