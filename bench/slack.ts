// Benchmark: the staff's Slack reads on a scored synthetic retailer (PGlite, embedded).
//   npm run bench:slack                      3,000 customers
//   npm run bench:slack -- --customers 30000
// Printed: median and max of 5 runs for each staff query and the digest (with its PNG), and the
// end-to-end `/retention at-risk` and `customer` commands over signed HTTP through the real Bolt
// app (time to Slack's acknowledgement, and to the answer on the response_url).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { scoreAll } from "../core/analytics/scoring";
import { loadConfig } from "../core/config/config";
import { openDatabase } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { loadRetailer } from "../core/demo/load";
import { generateRetailer } from "../core/demo/synthetic";
import { silentLogger } from "../core/log";
import { atRiskCsv, listAtRisk } from "../core/staff/at-risk";
import { customerProfile, findCustomer } from "../core/staff/customer-profile";
import { feedbackThemes } from "../core/staff/feedback-themes";
import { segmentOverview } from "../core/staff/segments";
import { buildDigest } from "../jobs/digest.job";
import { buildSlackApp } from "../bot/slack/app";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { slackSignature, startSlackStandIn } from "../bot/slack/testing/slack-stand-in";

const run = promisify(execFile);

const args = process.argv.slice(2);
const customers = Number(args[args.indexOf("--customers") + 1] ?? 3000) || 3000;
const AS_OF = new Date("2026-11-01T00:00:00Z");

async function time(label: string, task: () => Promise<unknown>, runs = 5): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await task();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(44)} median ${ms[Math.floor(runs / 2)]!.toFixed(1).padStart(7)} ms   max ${ms.at(-1)!.toFixed(1).padStart(7)} ms`,
  );
}

const db = await openDatabase({ kind: "pglite", dataDir: null });
await applyMigrations(db);
let t = performance.now();
await loadRetailer(db, generateRetailer({ customers, seed: 42, asOf: AS_OF }));
const config = loadConfig({ LOG_LEVEL: "silent" });
await scoreAll(db, { asOf: AS_OF, config: config.analytics, log: silentLogger, now: () => AS_OF });
console.log(
  `${customers.toLocaleString("en")} customers generated, loaded and scored in ${((performance.now() - t) / 1000).toFixed(1)} s (PGlite)`,
);
const some = await db.prisma.customer.findFirstOrThrow({ where: { email: { not: null } }, orderBy: { id: "desc" } });

await time("listAtRisk (min 0.7, limit 50)", () => listAtRisk(db, { minRisk: 0.7, limit: 50 }));
await time("listAtRisk (segment, by CLV)", () =>
  listAtRisk(db, { minRisk: 0.4, limit: 50, segment: "At risk", orderBy: "clv" }),
);
const csv = await atRiskCsv(db, { minRisk: 0.7 });
await time(`atRiskCsv (${csv.rows} rows, ${Math.round(csv.csv.length / 1024)} KB)`, () =>
  atRiskCsv(db, { minRisk: 0.7 }),
);
await time("findCustomer by e-mail + customerProfile", async () => {
  const f = await findCustomer(db, some.email!);
  if (f.ok) await customerProfile(db, f.value.id);
});
await time("segmentOverview", () => segmentOverview(db, { highRisk: 0.7 }));
await time("feedbackThemes (90 days)", () =>
  feedbackThemes(db, { from: new Date(AS_OF.getTime() - 90 * 86_400_000), to: AS_OF }),
);
await time("weekly digest incl. PNG", () => buildDigest({ config, db, now: () => AS_OF }), 3);

const slack = await startSlackStandIn();
const secret = "bench-secret";
const appConfig = loadConfig({
  SLACK_BOT_TOKEN: "xoxb-bench",
  SLACK_SIGNING_SECRET: secret,
  SLACK_API_URL: slack.apiUrl,
  SLACK_STAFF_USERS: "UB",
  LOG_LEVEL: "silent",
});
const parts = buildSlackApp({ config: appConfig, db, log: silentLogger, now: () => AS_OF });
const server = (await parts.app.start(0)) as Server;
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
for (const text of ["at-risk", `customer ${some.email}`, "segments"]) {
  const acks: number[] = [];
  const answers: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = slack.callsOf("response_url").length;
    const body = new URLSearchParams({
      command: "/retention",
      text,
      user_id: "UB",
      channel_id: "DB",
      response_url: slack.responseUrl(`b${i}`),
      trigger_id: "t",
    }).toString();
    // The client runs in its own process (curl): in-process, PGlite's work would block the
    // client's event loop too and hide when Slack really gets the acknowledgement.
    const ts = Math.floor(Date.now() / 1000);
    t = performance.now();
    const { stdout } = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{time_total}",
      "-X",
      "POST",
      url,
      "-H",
      "content-type: application/x-www-form-urlencoded",
      "-H",
      `x-slack-request-timestamp: ${ts}`,
      "-H",
      `x-slack-signature: ${slackSignature(secret, ts, body)}`,
      "--data-binary",
      body,
    ]);
    const [status, seconds] = stdout.trim().split(" ");
    acks.push(Number(seconds) * 1000);
    if (status !== "200") throw new Error(`status ${status}`);
    await slack.waitFor("response_url", before + 1);
    answers.push(performance.now() - t);
    // Let the CSV upload finish so the next request does not queue behind it (PGlite is in-process).
    if (text === "at-risk") await slack.waitFor("files.completeUploadExternal", i + 1);
  }
  acks.sort((a, b) => a - b);
  answers.sort((a, b) => a - b);
  console.log(
    `/retention ${text.split(" ")[0]!.padEnd(33)} Slack's ack (curl) median ${acks[2]!.toFixed(1)} ms, answer median ${answers[2]!.toFixed(1)} ms (max ${answers[4]!.toFixed(1)} ms)`,
  );
}
await parts.app.stop();
await slack.close();
await db.close();
