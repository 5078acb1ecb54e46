// Builds the real Slack app against a PGlite store and local stand-ins, and sends it signed
// requests the way Slack does.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig, type Config } from "../../../core/config/config";
import type { Database } from "../../../core/db/client";
import { silentLogger, type Logger } from "../../../core/log";
import type { Assistant } from "../../../core/assistant/assistant";
import type { MessageChannel } from "../../../core/messaging/channel";
import { buildSlackApp, type SlackAppParts } from "../app";
import { postSigned, startSlackStandIn, type SlackStandIn } from "./slack-stand-in";

export const SIGNING_SECRET = "test-signing-secret-0123456789";
export const STAFF_USER = "USTAFF1";
export const STAFF_CHANNEL = "CSTAFF";
export const TICKETS_CHANNEL = "CTICKETS";

export interface SlackHarness {
  slack: SlackStandIn;
  parts: SlackAppParts;
  config: Config;
  url: string;
  /** Sends `/retention <text>` and waits for the answer posted to the response_url. */
  command(
    text: string,
    who?: { user?: string; channel?: string },
  ): Promise<{ status: number; ms: number; reply: Record<string, unknown> }>;
  /** Sends an Events API callback (signed JSON). */
  event(event: Record<string, unknown>, eventId?: string): Promise<{ status: number }>;
  /** Sends an interactive payload (button press, modal submit). */
  interaction(payload: Record<string, unknown>): Promise<{ status: number }>;
  close(): Promise<void>;
}

let seq = 0;

export async function startSlackHarness(options: {
  db: Database;
  env?: Record<string, string>;
  /** The assistant, or a factory given the harness's parsed config. */
  assistant?: Assistant | ((config: Config) => Assistant);
  telegramChannel?: MessageChannel;
  now?: () => Date;
  log?: Logger;
}): Promise<SlackHarness> {
  const slack = await startSlackStandIn();
  const config = loadConfig({
    SLACK_BOT_TOKEN: "xoxb-test-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_STAFF_USERS: STAFF_USER,
    SLACK_STAFF_CHANNEL: STAFF_CHANNEL,
    SLACK_TICKETS_CHANNEL: TICKETS_CHANNEL,
    TELEGRAM_BOT_USERNAME: "retention_test_bot",
    LOG_LEVEL: "silent",
    ...options.env,
  });
  const parts = buildSlackApp({
    config,
    db: options.db,
    log: options.log ?? silentLogger,
    assistant: typeof options.assistant === "function" ? options.assistant(config) : options.assistant,
    telegramChannel: options.telegramChannel,
    now: options.now,
  });
  const server = (await parts.app.start(0)) as Server;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  return {
    slack,
    parts,
    config,
    url,
    async command(text, who = {}) {
      const responseId = `cmd${++seq}`;
      const body = new URLSearchParams({
        token: "legacy",
        team_id: "T0001",
        team_domain: "test",
        channel_id: who.channel ?? "DDM1",
        channel_name: "directmessage",
        user_id: who.user ?? STAFF_USER,
        user_name: "staff",
        command: "/retention",
        text,
        api_app_id: "A0001",
        response_url: slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}`,
      }).toString();
      const before = slack.callsOf("response_url").length;
      const res = await postSigned(url, SIGNING_SECRET, body, { contentType: "application/x-www-form-urlencoded" });
      const calls = await slack.waitFor("response_url", before + 1);
      return { status: res.status, ms: res.ms, reply: calls[before]!.body };
    },
    async event(event, eventId = `Ev${++seq}`) {
      const body = JSON.stringify({
        token: "legacy",
        team_id: "T0001",
        api_app_id: "A0001",
        type: "event_callback",
        event_id: eventId,
        event_time: Math.floor(Date.now() / 1000),
        event,
      });
      const res = await postSigned(url, SIGNING_SECRET, body);
      return { status: res.status };
    },
    async interaction(payload) {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const res = await postSigned(url, SIGNING_SECRET, body, { contentType: "application/x-www-form-urlencoded" });
      return { status: res.status };
    },
    async close() {
      await parts.app.stop();
      await slack.close();
    },
  };
}

/** A button press on a ticket card. */
export function buttonPress(
  actionId: string,
  value: string,
  who: { user?: string; channel?: string; messageTs?: string } = {},
) {
  return {
    type: "block_actions",
    team: { id: "T0001", domain: "test" },
    user: { id: who.user ?? STAFF_USER, username: "staff", team_id: "T0001" },
    api_app_id: "A0001",
    token: "legacy",
    container: {
      type: "message",
      message_ts: who.messageTs ?? "1.0",
      channel_id: who.channel ?? TICKETS_CHANNEL,
      is_ephemeral: false,
    },
    trigger_id: `trigger.${actionId}.${value}`,
    channel: { id: who.channel ?? TICKETS_CHANNEL, name: "tickets" },
    message: { type: "message", ts: who.messageTs ?? "1.0", text: "" },
    response_url: "http://127.0.0.1:9/unused",
    actions: [
      {
        type: "button",
        action_id: actionId,
        block_id: `ticket:${value}`,
        value,
        text: { type: "plain_text", text: actionId },
        action_ts: "1.1",
      },
    ],
  };
}
