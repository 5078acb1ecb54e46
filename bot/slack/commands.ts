// `/retention <subcommand>`: acknowledge at once, check staff, run one core query, answer with
// Block Kit (and a CSV file for `at-risk`). Every answer is ephemeral: customer data stays with
// the staff member who asked.
import type { App } from "@slack/bolt";
import type { KnownBlock } from "@slack/types";
import type { WebClient } from "@slack/web-api";
import { computeMetrics } from "../../core/analytics/metrics";
import { campaignReport } from "../../core/campaigns/report";
import { createLinkToken } from "../../core/linking/linking";
import { assertUnreachable } from "../../core/result";
import { atRiskCsv, listAtRisk } from "../../core/staff/at-risk";
import { customerProfile, findCustomer, type LookupError } from "../../core/staff/customer-profile";
import { staffDeskStatus, type StaffDeskStatus } from "../../core/staff/desk-status";
import { parsePeriod } from "../../core/staff/period";
import { segmentOverview } from "../../core/staff/segments";
import {
  AT_RISK_PAGE_SIZE,
  atRiskBlocks,
  campaignBlocks,
  context,
  customerBlocks,
  esc,
  header,
  HELP_TEXT,
  metricsBlocks,
  section,
  segmentBlocks,
} from "./blocks";
import { parseRetentionCommand, type RetentionCommand } from "./command-parser";
import type { SlackDeps } from "./deps";
import { uploadToSlack } from "./slack-files";
import { STAFF_ONLY_TEXT } from "./staff-guard";

export interface CommandReply {
  text: string;
  blocks?: KnownBlock[];
  file?: { filename: string; title: string; content: string };
}

export function registerRetentionCommand(app: App, deps: SlackDeps): void {
  app.command("/retention", async ({ command, ack, respond, client }) => {
    await ack();
    const started = Date.now();
    const decision = await deps.guard.check(command.user_id, command.channel_id);
    if (!decision.allowed) {
      deps.log.info({ user: command.user_id, reason: decision.reason }, "slack command refused");
      await respond({ response_type: "ephemeral", text: STAFF_ONLY_TEXT });
      return;
    }
    const parsed = parseRetentionCommand(command.text ?? "");
    let reply: CommandReply;
    if (!parsed.ok) reply = { text: parsed.message };
    else {
      try {
        reply = await runCommand(parsed.command, deps, command.user_id);
      } catch (error) {
        deps.log.error(
          { err: error instanceof Error ? error.message : String(error), command: parsed.command.name },
          "slack command failed",
        );
        reply = { text: "Sorry, that failed on our side. The error is in the log; please try again in a minute." };
      }
    }
    await respond({ response_type: "ephemeral", text: reply.text, ...(reply.blocks ? { blocks: reply.blocks } : {}) });
    if (reply.file) await uploadFile(client, command.channel_id, command.user_id, reply.file, deps, respond);
    deps.log.info(
      { user: command.user_id, command: parsed.ok ? parsed.command.name : "invalid", ms: Date.now() - started },
      "slack command answered",
    );
  });
}

/**
 * Customer lists hold personal data: the CSV goes to the staff channel or a direct message,
 * never into whatever channel the command was typed in.
 */
async function uploadFile(
  client: WebClient,
  channel: string,
  user: string,
  file: NonNullable<CommandReply["file"]>,
  deps: SlackDeps,
  respond: (m: { response_type: "ephemeral"; text: string }) => Promise<unknown>,
): Promise<void> {
  try {
    let target = channel;
    if (channel !== deps.config.slack.staffChannel && !channel.startsWith("D")) {
      const dm = await client.conversations.open({ users: user });
      target = dm.channel?.id ?? channel;
      await respond({ response_type: "ephemeral", text: "The full CSV is in your direct messages with the app." });
    }
    await uploadToSlack(client, { channel: target, comment: `<@${user}> ${file.title}` }, [
      { filename: file.filename, title: file.title, content: Buffer.from(file.content, "utf8") },
    ]);
  } catch (error) {
    deps.log.warn({ err: error instanceof Error ? error.message : String(error), channel }, "csv upload failed");
    await respond({
      response_type: "ephemeral",
      text: "I could not attach the CSV here (is the app a member of this channel?). Try the command in the staff channel or in a direct message with the app.",
    });
  }
}

function lookupMessage(e: LookupError): string {
  switch (e.type) {
    case "empty_query":
      return "Tell me which customer: an external id, an e-mail or a phone number.";
    case "not_found":
      return `No customer matches \`${esc(e.query)}\`.`;
    case "ambiguous":
      return `Several customers match \`${esc(e.query)}\`: ${e.matches.map((m) => `\`${esc(m.externalId)}\``).join(", ")}. Use the external id.`;
    default:
      return assertUnreachable(e);
  }
}

/** Runs one parsed subcommand and builds the reply. */
export async function runCommand(cmd: RetentionCommand, deps: SlackDeps, userId: string): Promise<CommandReply> {
  const { db, config } = deps;
  const currency = config.business.currency;
  const now = deps.now();
  switch (cmd.name) {
    case "help":
      return { text: HELP_TEXT, blocks: [section(HELP_TEXT)] };
    case "at-risk": {
      const minRisk = cmd.minRisk ?? config.analytics.riskHigh;
      const filter = { segment: cmd.segment, minRisk, orderBy: cmd.orderBy, locale: config.business.locale };
      const page = {
        segment: cmd.segment,
        minRisk,
        orderBy: cmd.orderBy,
        offset: 0,
        pageSize: Math.min(cmd.limit, AT_RISK_PAGE_SIZE),
      };
      const list = await listAtRisk(db, { ...filter, limit: page.pageSize });
      const blocks = atRiskBlocks(list, page, currency);
      if (list.total === 0) return { text: `No customers at risk${cmd.segment ? ` in ${cmd.segment}` : ""}.`, blocks };
      const csv = await atRiskCsv(db, filter);
      const stamp = now.toISOString().slice(0, 10);
      const slug = cmd.segment ? `-${cmd.segment.toLowerCase().replace(/[^a-z0-9]+/g, "-")}` : "";
      return {
        text: `${list.total} customers at risk${cmd.segment ? ` in ${cmd.segment}` : ""} (churn ≥ ${Math.round(minRisk * 100)}%)`,
        blocks,
        file: {
          filename: `at-risk${slug}-${stamp}.csv`,
          title: `At-risk customers${cmd.segment ? ` in ${cmd.segment}` : ""}: ${csv.rows} rows`,
          content: csv.csv,
        },
      };
    }
    case "customer": {
      const found = await findCustomer(db, cmd.query);
      if (!found.ok) return { text: lookupMessage(found.error) };
      const profile = await customerProfile(db, found.value.id, { locale: config.business.locale });
      if (!profile) return { text: `No customer matches \`${esc(cmd.query)}\`.` };
      return {
        text: `${profile.name ?? profile.externalId}: churn risk ${profile.score ? Math.round(profile.score.churnProbability * 100) + "%" : "not scored"}`,
        blocks: customerBlocks(profile, currency),
      };
    }
    case "segments": {
      const overview = await segmentOverview(db, { highRisk: config.analytics.riskHigh });
      return { text: `${overview.segments.length} segments`, blocks: segmentBlocks(overview, currency) };
    }
    case "metrics": {
      const period = parsePeriod(cmd.period, now);
      if (!period.ok)
        return {
          text: `I can't read the period \`${esc(period.error.text)}\`. Try 30d, 12w, this-month, last-month, 2026-10, 2026 or 2026-09-01..2026-10-01.`,
        };
      const metrics = await computeMetrics(db, {
        from: period.value.from,
        to: period.value.to,
        segment: cmd.segment,
        defaultGrossMargin: config.analytics.defaultGrossMargin,
      });
      const title = `Metrics · ${period.value.label}${cmd.segment ? ` · ${cmd.segment}` : ""}`;
      return { text: title, blocks: metricsBlocks(title, metrics, currency) };
    }
    case "campaign": {
      if (cmd.id === undefined) {
        const campaigns = await db.prisma.campaign.findMany({ orderBy: { id: "desc" }, take: 15 });
        const lines = campaigns.map(
          (c) =>
            `• \`${c.id}\` ${esc(c.name)} · ${c.status}${c.startsAt ? ` · from ${c.startsAt.toISOString().slice(0, 10)}` : ""}`,
        );
        return { text: "Campaigns", blocks: [header("Campaigns"), section(lines.join("\n") || "No campaigns yet.")] };
      }
      const report = await campaignReport(db, cmd.id, { now, defaultGrossMargin: config.analytics.defaultGrossMargin });
      if (!report.ok) {
        const e = report.error;
        switch (e.type) {
          case "not_found":
            return { text: `No campaign with id ${cmd.id}. \`/retention campaign\` lists them.` };
          case "invalid":
            return { text: `Campaign ${cmd.id} has an invalid definition: ${e.problems.join("; ")}` };
          case "unknown_offers":
            return { text: `Campaign ${cmd.id} refers to unknown offers: ${e.keys.join(", ")}` };
          default:
            return assertUnreachable(e);
        }
      }
      return { text: `Campaign ${cmd.id}: ${report.value.name}`, blocks: campaignBlocks(report.value, currency) };
    }
    case "link": {
      if (!config.telegram.username)
        return {
          text: "The Telegram bot's username is not configured (TELEGRAM_BOT_USERNAME), so I can't build a deep link.",
        };
      const found = await findCustomer(db, cmd.query);
      if (!found.ok) return { text: lookupMessage(found.error) };
      const created = await createLinkToken(db, found.value.id, {
        now,
        ttlHours: config.telegram.linkTokenTtlHours,
        botUsername: config.telegram.username,
        actor: `slack:${userId}`,
      });
      if (!created.ok)
        return {
          text:
            created.error.type === "customer_erased"
              ? "That customer's data was erased."
              : `No customer matches \`${esc(cmd.query)}\`.`,
        };
      const who = found.value.name ?? found.value.externalId;
      const text = `Telegram link for ${esc(who)} (valid until ${created.value.expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC, one use):\n${created.value.link}`;
      return {
        text,
        blocks: [
          section(text),
          context("Send it to the customer by e-mail or SMS; opening it links their Telegram chat."),
        ],
      };
    }
    case "status":
      return statusReply(await staffDeskStatus(db), config.slack.ticketsChannel);
    default:
      return assertUnreachable(cmd);
  }
}

/** `/retention status`: whether staff alerts reach Slack, and how many are waiting. */
export function statusReply(status: StaffDeskStatus, ticketsChannel: string | undefined): CommandReply {
  const lines: string[] = [];
  if (!ticketsChannel) lines.push(":warning: SLACK_TICKETS_CHANNEL is not set: tickets are not posted to Slack.");
  for (const p of status.problems)
    lines.push(
      `:rotating_light: Tickets cannot be posted: *${p.reason}* since ${p.since.toISOString().slice(0, 16).replace("T", " ")} UTC` +
        (p.alertedTo
          ? ` (alert sent to ${p.alertedTo.startsWith("C") ? `<#${p.alertedTo}>` : `<@${p.alertedTo}>`})`
          : " (no one could be alerted)"),
    );
  lines.push(
    status.pending === 0
      ? ":white_check_mark: No staff alerts waiting."
      : `${status.pending} staff alert(s) waiting since ${status.oldestPendingAt?.toISOString().slice(0, 16).replace("T", " ")} UTC` +
          (status.failing
            ? `, ${status.failing} failed at least once (last error: ${esc(status.lastError ?? "unknown")})`
            : ""),
  );
  const text = `${status.ok ? "Staff desk OK" : "Staff desk needs attention"}\n${lines.join("\n")}`;
  return {
    text,
    blocks: [header(status.ok ? "Staff desk: OK" : "Staff desk: needs attention"), section(lines.join("\n"))],
  };
}
