import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeMetrics } from "../../core/analytics/metrics";
import { loadConfig } from "../../core/config/config";
import type { Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { makeCustomers, makeScoreRun } from "../../core/staff/test-fixtures";
import { digestJob } from "../../jobs/digest.job";
import { createTestDatabase } from "../../test/helpers/db";
import { startSlackStandIn, type SlackStandIn } from "./testing/slack-stand-in";

const NOW = new Date("2026-11-23T09:00:00Z"); // a Monday
const DAY = 86_400_000;

describe("weekly digest job posts text and a PNG chart [pglite]", () => {
  let db: Database;
  let slack: SlackStandIn;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    slack = await startSlackStandIn();
    const cs = await makeCustomers(db, 24, (i) => ({ externalId: `D-${i}` }));
    await makeScoreRun(
      db,
      new Date(NOW.getTime() - 8 * DAY),
      cs.map((c, i) => ({
        customerId: c.id,
        churnProbability: i < 5 ? 0.8 : 0.2,
        segment: i % 2 ? "Champions" : "Loyal",
      })),
    );
    await makeScoreRun(
      db,
      new Date(NOW.getTime() - DAY),
      cs.map((c, i) => ({
        customerId: c.id,
        churnProbability: i < 9 ? 0.85 : 0.3,
        segment: i < 9 ? "At risk" : "Champions",
      })),
    );
    // NPS answers over six weeks, worse in the last one.
    const answers = [];
    for (let w = 0; w < 6; w++) {
      for (let i = 0; i < 8; i++) {
        const score = w === 5 ? (i < 5 ? 3 : 9) : i < 2 ? 4 : i < 4 ? 7 : 10;
        answers.push({
          customerId: cs[i]!.id,
          kind: "nps",
          score,
          createdAt: new Date(NOW.getTime() - (6 - w) * 7 * DAY + (i + 1) * 3_600_000 + DAY),
        });
      }
    }
    await db.prisma.feedback.createMany({ data: answers });
    const t1 = await db.prisma.ticket.create({
      data: {
        reference: "T-9001",
        customerId: cs[0]!.id,
        source: "complaint",
        status: "open",
        createdAt: new Date(NOW.getTime() - 3 * DAY),
      },
    });
    await db.prisma.ticket.create({
      data: {
        reference: "T-9002",
        customerId: cs[1]!.id,
        source: "complaint",
        status: "resolved",
        createdAt: new Date(NOW.getTime() - 4 * DAY),
        firstResponseAt: new Date(NOW.getTime() - 4 * DAY + 20 * 60_000),
        resolvedAt: new Date(NOW.getTime() - 2 * DAY),
        csatScore: 4,
      },
    });
    expect(t1.id).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await slack?.close();
    await db?.close();
  });

  it("posts the digest with numbers equal to the store's and the chart as a PNG in its thread", async () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: "xoxb-test",
      SLACK_SIGNING_SECRET: "s",
      SLACK_API_URL: slack.apiUrl,
      SLACK_DIGEST_CHANNEL: "CDIGEST",
      LOG_LEVEL: "silent",
    });
    const stats = await digestJob.run({ config, db, log: silentLogger, now: () => NOW, close: async () => undefined });
    expect(stats).toMatchObject({ posted: true, highRisk: 9, openTickets: 1 });
    const post = (await slack.waitFor("chat.postMessage"))[0]!.body;
    expect(post.channel).toBe("CDIGEST");
    const text = String(post.text);
    const week = await computeMetrics(db, {
      from: new Date(Date.UTC(2026, 10, 16)),
      to: new Date(Date.UTC(2026, 10, 23)),
    });
    expect(week.nps.respondents).toBe(8);
    expect(text).toContain(`*NPS*: ${week.nps.nps!.toFixed(1)} this week from 8 answers`);
    expect(text).toContain("*At risk*: 9 customers at high risk (+4 since the run before: 4 newly high, 0 recovered)");
    expect(text).toContain(
      "*Tickets*: 1 open, 0 awaiting the customer; 2 opened and 1 resolved this week; median first response 20 min; CSAT 4/5; oldest open 3 days.",
    );
    const complete = slack.callsOf("files.completeUploadExternal")[0]!.body;
    expect(complete).toMatchObject({ channel_id: "CDIGEST" });
    expect(complete.thread_ts).toBeUndefined(); // the chart is in the channel, shown by the digest
    const blocks = post.blocks as { type: string; slack_file?: { id: string } }[];
    expect(blocks[0]!.type).toBe("header");
    expect(blocks.find((b) => b.type === "image")?.slack_file?.id).toMatch(/^F/);
    const interval = /\(95% interval (-?\d+) to (-?\d+)\)/.exec(text);
    expect(interval).not.toBeNull();
    expect(Number(interval![1])).toBeLessThan(week.nps.nps!);
    expect(Number(interval![2])).toBeGreaterThan(week.nps.nps!);
    const png = slack.uploads[0]!.content;
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.length).toBeGreaterThan(10_000);
  });

  it("leaves out customers who asked to be forgotten", async () => {
    const [highRisk] = await db.prisma.$queryRaw<{ customer_id: number }[]>`
      SELECT customer_id FROM scores WHERE run_id = (SELECT max(id) FROM score_runs) AND churn_probability >= 0.7
      ORDER BY customer_id LIMIT 1`;
    await db.prisma.customer.update({ where: { id: highRisk!.customer_id }, data: { erasedAt: NOW } });
    const stats = await digestJob.run({
      config: loadConfig({ LOG_LEVEL: "silent" }),
      db,
      log: silentLogger,
      now: () => NOW,
      close: async () => undefined,
    });
    expect(stats).toMatchObject({ highRisk: 8 });
    await db.prisma.customer.update({ where: { id: highRisk!.customer_id }, data: { erasedAt: null } });
  });

  it("builds but does not post without a Slack token", async () => {
    const before = slack.calls.length;
    const stats = await digestJob.run({
      config: loadConfig({ LOG_LEVEL: "silent" }),
      db,
      log: silentLogger,
      now: () => NOW,
      close: async () => undefined,
    });
    expect(stats).toMatchObject({ posted: false, highRisk: 9 });
    expect(slack.calls.length).toBe(before);
    expect(digestJob.cronFrom(loadConfig({}))).toBe("0 9 * * 1");
  });
});
