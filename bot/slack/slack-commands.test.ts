import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/helpers/wait";
import { parse } from "csv-parse/sync";
import { createTestDatabase } from "../../test/helpers/db";
import type { Database } from "../../core/db/client";
import { computeMetrics } from "../../core/analytics/metrics";
import { createCampaign } from "../../core/campaigns/campaign";
import { campaignReport } from "../../core/campaigns/report";
import { upsertOffers } from "../../core/campaigns/test-fixtures";
import { parsePeriod } from "../../core/staff/period";
import { makeCustomers, makePurchases, makeScoreRun } from "../../core/staff/test-fixtures";
import { STAFF_ONLY_TEXT } from "./staff-guard";
import { postSigned, slackSignature } from "./testing/slack-stand-in";
import { buttonPress, SIGNING_SECRET, STAFF_CHANNEL, startSlackHarness, type SlackHarness } from "./testing/harness";
import { Writable } from "node:stream";
import { createLogger, silentLogger } from "../../core/log";
import { loadConfig } from "../../core/config/config";
import { buildSlackApp } from "./app";

const NOW = new Date("2026-11-20T10:00:00Z");
const PLANNED_AT = new Date("2026-10-15T09:00:00Z");

function blockText(reply: Record<string, unknown>): string {
  return JSON.stringify(reply.blocks ?? []) + String(reply.text ?? "");
}

describe("/retention over signed HTTP [pglite]", () => {
  let db: Database;
  let h: SlackHarness;
  let campaignId = 0;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    const customers = await makeCustomers(db, 40, (i) => ({
      externalId: `CUST-${i}`,
      name: `Client ${i}`,
      email: `client${i}@shop.test`,
      phone: `+4470000${String(i).padStart(5, "0")}`,
    }));
    await makeScoreRun(
      db,
      new Date("2026-11-12"),
      customers.map((c, i) => ({
        customerId: c.id,
        churnProbability: (i % 10) / 10,
        segment: i % 2 ? "Champions" : "Loyal",
      })),
    );
    await makeScoreRun(
      db,
      new Date("2026-11-19"),
      customers.map((c, i) => ({
        customerId: c.id,
        churnProbability: ((i * 7) % 40) / 40,
        segment: i % 3 === 0 ? "At risk" : i % 2 ? "Champions" : "Loyal",
        clv: 1000 - i * 10,
      })),
    );
    await makePurchases(db, customers[3]!.id, [{ at: new Date("2026-09-01"), amount: 25, category: "jazz" }]);
    for (let i = 0; i < 12; i++) {
      await makePurchases(db, customers[i]!.id, [
        { at: new Date(Date.UTC(2026, 7 + (i % 3), 1 + i)), amount: 20 + i },
        { at: new Date(Date.UTC(2026, 10, 1 + i)), amount: 30 },
      ]);
    }
    await db.prisma.feedback.createMany({
      data: Array.from({ length: 12 }, (_, i) => ({
        customerId: customers[i]!.id,
        kind: "nps",
        score: i % 11,
        createdAt: new Date(Date.UTC(2026, 10, 2 + i)),
      })),
    });
    await upsertOffers(db, [{ key: "winback-10", cost: 5, saveProbability: 0.2 }]);
    const campaign = await createCampaign(
      db,
      {
        name: "Win-back November",
        offerKeys: ["winback-10"],
        windowDays: 30,
        startsAt: new Date("2026-10-15"),
        seed: "s",
      },
      { now: new Date("2026-10-15") },
    );
    if (!campaign.ok) throw new Error("campaign fixture failed");
    campaignId = campaign.value.id;
    const offer = await db.prisma.offer.findFirstOrThrow({ where: { key: "winback-10" } });
    await db.prisma.campaignAssignment.createMany({
      data: Array.from({ length: 20 }, (_, i) => ({
        campaignId,
        customerId: customers[i]!.id,
        group: i < 14 ? "treatment" : "control",
        riskBand: i % 2 ? "high" : "medium",
        // The planner's record: the treated got the offer with what the policy expected of it.
        ...(i < 14
          ? { offerId: offer.id, expectedUplift: 0.25, expectedValue: 3, explore: i % 7 === 0, assignedAt: PLANNED_AT }
          : { assignedAt: PLANNED_AT }),
      })),
    });
    h = await startSlackHarness({ db, now: () => NOW });
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  it("answers help within Slack's 3 seconds", async () => {
    const { status, reply } = await h.command("help");
    expect(status).toBe(200);
    expect(reply.response_type).toBe("ephemeral");
    expect(String(reply.text)).toContain("at-risk");
  });

  it("lists at-risk customers as a table and uploads the full CSV", async () => {
    const before = h.slack.uploads.length;
    const { status, reply } = await h.command("at-risk Champions --min-risk 0.3 --limit 3");
    expect(status).toBe(200);
    const expected = await db.prisma.$queryRaw<{ external_id: string; name: string }[]>`
      SELECT c.external_id, c.name FROM scores s JOIN customers c ON c.id = s.customer_id
      WHERE s.run_id = (SELECT max(id) FROM score_runs) AND s.segment = 'Champions' AND s.churn_probability >= 0.3
      ORDER BY s.churn_probability DESC, s.clv DESC, c.id`;
    expect(expected.length).toBeGreaterThan(3);
    const text = blockText(reply);
    expect(text).toContain(`${expected.length} customers match`);
    for (const row of expected.slice(0, 3)) expect(text).toContain(row.name);
    expect(text).not.toContain(expected[3]!.name + " ");
    await h.slack.waitFor("files.completeUploadExternal", 1);
    const upload = h.slack.uploads[before]!;
    const rows = parse(upload.content.toString("utf8"), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.external_id)).toEqual(expected.map((r) => r.external_id));
    expect(Object.keys(rows[0]!)).toEqual(
      expect.arrayContaining(["name", "churn_probability", "clv", "segment", "reasons", "last_purchase_at"]),
    );
    const complete = h.slack.callsOf("files.completeUploadExternal").at(-1)!;
    expect(complete.body.channel_id).toBe("DDM1");
  });

  it("sends the CSV to a direct message when the command was typed in another channel", async () => {
    const before = h.slack.callsOf("files.completeUploadExternal").length;
    await h.command("at-risk --limit 1", { channel: "CPUBLIC" });
    const complete = (await h.slack.waitFor("files.completeUploadExternal", before + 1))[before]!;
    expect(complete.body.channel_id).toBe("DUSTAFF1");
    expect(h.slack.callsOf("conversations.open").at(-1)!.body.users).toBe("USTAFF1");
  });

  it("rejects bad options with a usage hint and no data", async () => {
    const { reply } = await h.command("at-risk --min-risk 7");
    expect(String(reply.text)).toContain("--min-risk must be a number between 0 and 1");
    expect(reply.blocks).toBeUndefined();
  });

  it("shows a customer card by external id, e-mail or phone", async () => {
    for (const q of ["CUST-3", "CLIENT3@shop.test", "+44 70000 00003"]) {
      const { reply } = await h.command(`customer ${q}`);
      const text = blockText(reply);
      expect(text).toContain("Client 3 · CUST-3");
      expect(text).toContain("jazz");
    }
    const missing = await h.command("customer nobody@nowhere.test");
    expect(String(missing.reply.text)).toContain("No customer matches");
  });

  it("shows segment sizes and movement", async () => {
    const { reply } = await h.command("segments");
    const counts = await db.prisma.$queryRaw<{ segment: string; n: number }[]>`
      SELECT segment, count(*)::int AS n FROM scores WHERE run_id = (SELECT max(id) FROM score_runs) GROUP BY segment`;
    const text = blockText(reply);
    for (const c of counts) expect(text).toMatch(new RegExp(`${c.segment}\\s+${c.n}\\s`));
    expect(text).toContain("Biggest moves");
  });

  it("shows retention metrics for a period equal to computeMetrics", async () => {
    const { reply } = await h.command("metrics 30d");
    const period = parsePeriod("30d", NOW);
    if (!period.ok) throw new Error("period");
    const m = await computeMetrics(db, { from: period.value.from, to: period.value.to, defaultGrossMargin: 0.3 });
    expect(m.nps.respondents).toBeGreaterThan(5);
    const text = blockText(reply);
    expect(text).toContain(`*NPS*\\n${m.nps.nps!.toFixed(1)} (${m.nps.respondents} answers`);
    expect(text).toContain(`(${m.lost} lost of ${m.customersAtStart} at start)`);
    expect(text).toContain(`(${m.repeatBuyers} of ${m.buyers} buyers)`);
    const bad = await h.command("metrics fortnight");
    expect(String(bad.reply.text)).toContain("can't read the period");
  });

  it("reads a segment in any case and several words, and answers a typo with a did-you-mean", async () => {
    const [largest] = await db.prisma.$queryRaw<{ segment: string; n: number }[]>`
      SELECT segment, count(*)::int AS n FROM scores WHERE run_id = (SELECT max(id) FROM score_runs)
      GROUP BY segment ORDER BY count(*) DESC, segment LIMIT 1`;
    const period = parsePeriod("30d", NOW);
    if (!period.ok) throw new Error("period");
    const m = await computeMetrics(db, {
      from: period.value.from,
      to: period.value.to,
      segment: largest!.segment,
      defaultGrossMargin: 0.3,
    });
    expect(m.customersAtStart).toBeGreaterThan(0);
    // Lower case, the period after the name: the same figures as the segment's own metrics.
    const { reply } = await h.command(`metrics --segment ${largest!.segment.toLowerCase()} 30d`);
    const text = blockText(reply);
    expect(text).toContain(largest!.segment);
    expect(text).toContain(`(${m.lost} lost of ${m.customersAtStart} at start)`);

    const typo = await h.command("at-risk Champins");
    expect(String(typo.reply.text)).toContain('Did you mean "Champions"?');
    expect(typo.reply.blocks ?? []).toHaveLength(0);
    const unknown = await h.command("metrics --segment Whales");
    expect(String(unknown.reply.text)).toContain("Segments: Champions, Loyal,");
  });

  it("shows a campaign's lift with its confidence interval and ROI", async () => {
    const { reply } = await h.command(`campaign ${campaignId}`);
    const r = await campaignReport(db, campaignId, { now: NOW, defaultGrossMargin: 0.3 });
    if (!r.ok) throw new Error("report");
    const lift = r.value.overall.retentionLift;
    const p = (x: number) => `${(x * 100).toFixed(1)}%`;
    const text = blockText(reply);
    expect(text).toContain(`treated ${r.value.overall.treatment.customers}`);
    expect(text).toContain(`lift ${p(lift.estimate)} [95% CI ${p(lift.low)} to ${p(lift.high)}]`);
    expect(text).toContain(`ROI ${r.value.overall.roi === null ? "n/a" : r.value.overall.roi.toFixed(2)}`);
    // Beside the lift: what the targeting policy expected (14 treated x 0.25), what was realised, the offer mix.
    const realised = r.value.policy.realisedRetained;
    expect(text).toContain("*Targeting policy*: expected +3.5 customers retained");
    expect(text).toContain(`realised ${realised.estimate >= 0 ? "+" : ""}${realised.estimate.toFixed(1)} [95% CI`);
    expect(text).toContain("• 2026-10-15: 14 treated (2 exploring), expected +3.5; offers winback-10 14");
    expect(
      String((await h.command("campaign")).reply.blocks && JSON.stringify((await h.command("campaign")).reply.blocks)),
    ).toContain("Win-back November");
    expect(String((await h.command("campaign 999")).reply.text)).toContain("No campaign with id 999");
  });

  it("makes a Telegram deep link with a stored one-time token", async () => {
    const { reply } = await h.command("link CUST-5");
    const link = /https:\/\/t\.me\/retention_test_bot\?start=([\w-]+)/.exec(String(reply.text));
    expect(link).not.toBeNull();
    const token = await db.prisma.linkToken.findUnique({ where: { token: link![1]! }, include: { customer: true } });
    expect(token?.customer.externalId).toBe("CUST-5");
  });

  it("refuses a non-staff user politely and shows nothing else", async () => {
    const uploads = h.slack.uploads.length;
    const { reply } = await h.command("at-risk", { user: "UOUTSIDER", channel: "CRANDOM" });
    expect(reply).toMatchObject({ response_type: "ephemeral", text: STAFF_ONLY_TEXT });
    expect(reply.blocks).toBeUndefined();
    expect(h.slack.uploads.length).toBe(uploads);
  });

  it("lets anyone in the staff channel and members of the staff user group in", async () => {
    const inChannel = await h.command("help", { user: "UOTHER", channel: STAFF_CHANNEL });
    expect(String(inChannel.reply.text)).toContain("at-risk");
  });

  it("rejects a forged signature and a stale timestamp with 401", async () => {
    const body = new URLSearchParams({
      command: "/retention",
      text: "at-risk",
      user_id: "USTAFF1",
      channel_id: "DDM1",
      response_url: h.slack.responseUrl("forged"),
    }).toString();
    const forged = await postSigned(h.url, SIGNING_SECRET, body, {
      contentType: "application/x-www-form-urlencoded",
      signature: slackSignature("wrong-secret", Math.floor(Date.now() / 1000), body),
    });
    expect(forged.status).toBe(401);
    const staleTs = Math.floor(Date.now() / 1000) - 10 * 60;
    const stale = await postSigned(h.url, SIGNING_SECRET, body, {
      contentType: "application/x-www-form-urlencoded",
      timestamp: staleTs,
    });
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(
      h.slack.calls.filter((c) => c.method === "response_url" && JSON.stringify(c).includes("forged")),
    ).toHaveLength(0);
  });
});

describe("operation modes", () => {
  it("builds for Socket Mode with an app token, for HTTP with a signing secret, and refuses neither", () => {
    const db = null as unknown as Database; // building touches no data
    const base = { SLACK_BOT_TOKEN: "xoxb-t", LOG_LEVEL: "silent" };
    expect(
      buildSlackApp({ config: loadConfig({ ...base, SLACK_APP_TOKEN: "xapp-1-test" }), db, log: silentLogger }).mode,
    ).toBe("socket");
    expect(
      buildSlackApp({ config: loadConfig({ ...base, SLACK_SIGNING_SECRET: "s" }), db, log: silentLogger }).mode,
    ).toBe("http");
    expect(() => buildSlackApp({ config: loadConfig({ LOG_LEVEL: "silent" }), db, log: silentLogger })).toThrow(
      "SLACK_BOT_TOKEN",
    );
  });
});

describe("error boundary [pglite]", () => {
  it("logs a failing handler and keeps serving", async () => {
    const db = await createTestDatabase("pglite");
    const records: string[] = [];
    const log = createLogger(
      "error",
      new Writable({ write: (chunk, _enc, done) => (records.push(String(chunk)), done()) }),
    );
    const h = await startSlackHarness({ db, log });
    try {
      // A button on a ticket that does not exist: the handler throws inside Bolt.
      await h.interaction(buttonPress("ticket_assign", "424242"));
      await until(() => records.some((r) => r.includes("slack handler failed")), "the failure logged");
      expect(records.some((r) => r.includes("slack handler failed"))).toBe(true);
      expect(String((await h.command("help")).reply.text)).toContain("at-risk");
    } finally {
      await h.close();
      await db.close();
    }
  });
});

describe("staff user group [pglite]", () => {
  let db: Database;
  let h: SlackHarness;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    h = await startSlackHarness({
      db,
      env: { SLACK_STAFF_USERS: "", SLACK_STAFF_CHANNEL: "", SLACK_STAFF_USERGROUP: "SGROUP" },
    });
    h.slack.usergroupMembers = ["UGROUPIE"];
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  it("admits a member of the configured user group and refuses others", async () => {
    expect(String((await h.command("help", { user: "UGROUPIE" })).reply.text)).toContain("at-risk");
    expect((await h.command("help", { user: "UNOTMEMBER" })).reply.text).toBe(STAFF_ONLY_TEXT);
    expect(h.slack.callsOf("usergroups.users.list")[0]?.body.usergroup).toBe("SGROUP");
  });
});
