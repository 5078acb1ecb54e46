// The weekly digest job: builds the digest, renders its chart and posts both to
// SLACK_DIGEST_CHANNEL. Without a Slack token or channel it logs a dry run and still builds.
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
  const post = await client.chat.postMessage({
    channel: digestChannel,
    text,
    blocks: [{ type: "section", text: { type: "mrkdwn", text: text.slice(0, 2900) } }],
    unfurl_links: false,
  });
  const day = digest.to.toISOString().slice(0, 10);
  const upload = {
    channel_id: digestChannel,
    file: png,
    filename: `weekly-digest-${day}.png`,
    title: `NPS by week to ${day}`,
  };
  await client.files.uploadV2(post.ts ? { ...upload, thread_ts: post.ts } : upload);
  ctx.log.info({ ...stats, channel: digestChannel }, "digest posted");
  return { ...stats, posted: true };
}

export const digestJob: JobDefinition = {
  name: "digest",
  cronFrom: (config) => config.schedule.cron.digest,
  run: runDigest,
};
