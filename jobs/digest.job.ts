// The weekly digest job: builds the digest, renders its chart and posts both to
// SLACK_DIGEST_CHANNEL. Without a Slack token or channel it logs a dry run and still builds.
import type { KnownBlock } from "@slack/types";
import { WebClient } from "@slack/web-api";
import { npsChartSpec, renderChartPng } from "../core/staff/digest-chart";
import { buildWeeklyDigest, type WeeklyDigest } from "../core/staff/digest";
import type { AppContext } from "./context";
import type { JobDefinition } from "./job-registry";

export interface DigestRun {
  digest: WeeklyDigest;
  png: Buffer;
}

/** Builds the digest and its PNG chart for `ctx.now()`. */
export async function buildDigest(ctx: Pick<AppContext, "config" | "db" | "now">): Promise<DigestRun> {
  const digest = await buildWeeklyDigest(ctx.db, {
    now: ctx.now(),
    riskHigh: ctx.config.analytics.riskHigh,
    defaultGrossMargin: ctx.config.analytics.defaultGrossMargin,
    currency: ctx.config.business.currency,
  });
  const png = await renderChartPng(
    npsChartSpec(
      digest.npsWeeks,
      `NPS by week, ${digest.npsWeeks.length} weeks to ${digest.to.toISOString().slice(0, 10)}`,
    ),
  );
  return { digest, png };
}

/**
 * The digest as Block Kit: a header, one section per topic, the chart when it was uploaded, and
 * the commands that act on it.
 */
export function digestBlocks(digest: WeeklyDigest, chartFileId?: string): KnownBlock[] {
  const [title, ...topics] = digest.lines;
  const blocks: KnownBlock[] = [
    { type: "header", text: { type: "plain_text", text: (title ?? "Weekly retention digest").replace(/\*/g, "") } },
  ];
  for (const line of topics) blocks.push({ type: "section", text: { type: "mrkdwn", text: line.slice(0, 2900) } });
  if (chartFileId)
    blocks.push({
      type: "image",
      slack_file: { id: chartFileId },
      alt_text: "Weekly NPS with 95% intervals and answer counts",
    } as KnownBlock);
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: "Act on it: `/retention at-risk` (the list, with a CSV), `/retention segments`, `/retention campaign <id>`. Customers who asked to be forgotten are not counted.",
      },
    ],
  });
  return blocks;
}

/** Builds and posts the digest; returns stats for the job log. */
export async function runDigest(ctx: AppContext): Promise<Record<string, unknown>> {
  const started = Date.now();
  const { digest, png } = await buildDigest(ctx);
  const { botToken, digestChannel, apiUrl } = ctx.config.slack;
  const stats = {
    highRisk: digest.segments.highRisk.current,
    campaigns: digest.campaigns.length,
    openTickets: digest.tickets.open,
    pngBytes: png.length,
    buildMs: Date.now() - started,
  };
  if (!botToken || !digestChannel) {
    ctx.log.info(
      { ...stats, lines: digest.lines.length },
      "digest built; not posted (SLACK_BOT_TOKEN or SLACK_DIGEST_CHANNEL unset)",
    );
    return { ...stats, posted: false };
  }
  const client = new WebClient(botToken, apiUrl ? { slackApiUrl: apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/` } : {});
  const text = digest.lines.join("\n");
  const day = digest.to.toISOString().slice(0, 10);
  // The chart first, into the channel itself (not a thread), so the digest's blocks can show it.
  const upload = await client.files.uploadV2({
    channel_id: digestChannel,
    file: png,
    filename: `weekly-digest-${day}.png`,
    title: `NPS by week to ${day}`,
    alt_text: `Weekly NPS for the last ${digest.npsWeeks.length} weeks with 95% intervals and answer counts`,
  });
  const fileId = (upload as { files?: { files?: { id?: string }[] }[] }).files?.[0]?.files?.[0]?.id;
  await client.chat.postMessage({
    channel: digestChannel,
    text,
    blocks: digestBlocks(digest, fileId),
    unfurl_links: false,
  });
  ctx.log.info({ ...stats, channel: digestChannel }, "digest posted");
  return { ...stats, posted: true };
}

export const digestJob: JobDefinition = {
  name: "digest",
  cronFrom: (config) => config.schedule.cron.digest,
  run: runDigest,
};
