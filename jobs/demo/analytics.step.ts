import { writeFileSync } from "node:fs";
import path from "node:path";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { computeMetrics } from "../../core/analytics/metrics";
import { currentScoreRunId, scoreAll } from "../../core/analytics/scoring";
import { SEGMENTS } from "../../core/analytics/segments";
import { trainChurnModel } from "../../core/analytics/training";
import { contactPolicyFromConfig } from "../../core/campaigns/contact-policy";
import { learnSendHours } from "../../core/campaigns/send-hour";
import { learnCategoryAssociations } from "../../core/offers/category-recommendation";
import { formatMetrics, formatScoreSummary } from "../commands/analytics.command";
import type { DemoStep } from "./demo-step";

interface Bin {
  bin: number;
  n: number;
}

/** A PNG bar chart of customers per churn-probability decile (vega-lite -> SVG -> resvg). */
export async function riskHistogramPng(bins: readonly Bin[], title: string): Promise<Buffer> {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 520,
    height: 260,
    data: {
      values: bins.map((b) => ({
        range: `${(b.bin / 10).toFixed(1)}-${((b.bin + 1) / 10).toFixed(1)}`,
        customers: b.n,
      })),
    },
    mark: { type: "bar", color: "#c0392b" },
    encoding: {
      x: { field: "range", type: "ordinal", title: "churn probability", sort: null },
      y: { field: "customers", type: "quantitative", title: "customers" },
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return new Resvg(svg, { background: "white", font: { loadSystemFonts: true } }).render().asPng();
}

/** Trains and scores the demo store, then shows the risk distribution, segments and metrics. */
export const analyticsStep: DemoStep = {
  title: "Churn risk, segments and retention metrics",
  async run(ctx) {
    const { db, asOf, print, config } = ctx;
    const trained = await trainChurnModel(db, {
      asOf,
      horizonDays: config.analytics.churnHorizonDays,
      log: ctx.log,
      now: ctx.now,
    });
    if (trained.ok) {
      const m = trained.value.metrics;
      print(
        `churn model (${m.chosen}): out-of-time AUC ${m.auc?.toFixed(3) ?? "n/a"} on ${m.heldOut} customers (BG/NBD alone ${m.bgnbdAuc?.toFixed(3) ?? "n/a"}), trained in ${(trained.value.trainingMs / 1000).toFixed(1)} s, ${config.analytics.churnHorizonDays}-day churn rate ${(100 * m.churnRate).toFixed(1)}%`,
      );
    } else print(`churn model not trained: ${trained.error.message}`);

    const summary = await scoreAll(db, { asOf, config: config.analytics, log: ctx.log, now: ctx.now });
    for (const line of formatScoreSummary(summary).slice(0, 2)) print(line);
    // What the nightly scoring job learns beside the scores: send hours and categories bought together.
    const hours = await learnSendHours(db, {
      now: asOf,
      policy: contactPolicyFromConfig(config),
      defaultHour: config.contact.sendHour.defaultHour,
      priorEvents: config.contact.sendHour.priorEvents,
    });
    print(
      `send hours: the store's best is ${String(hours.storeHour).padStart(2, "0")}:00 (${hours.source === "store" ? `from ${hours.events} answers and timed purchases` : "the configured default: no history with times of day"}); ${hours.customers} customers with their own history, ${hours.ownHour} of them off the store's hour`,
    );
    const pairs = await learnCategoryAssociations(db, { now: asOf });
    print(`categories bought together: ${pairs.pairs} ordered pairs of ${pairs.categories} categories above chance`);

    const runId = await currentScoreRunId(db);
    const bins = await db.prisma.$queryRawUnsafe<Bin[]>(
      `SELECT least(floor(churn_probability * 10), 9)::int AS bin, count(*)::int AS n FROM scores WHERE run_id = $1 GROUP BY 1 ORDER BY 1`,
      runId,
    );
    const full: Bin[] = Array.from({ length: 10 }, (_, bin) => ({ bin, n: bins.find((b) => b.bin === bin)?.n ?? 0 }));
    const max = Math.max(1, ...full.map((b) => b.n));
    print("risk distribution (churn probability):");
    for (const b of full)
      print(
        `  ${(b.bin / 10).toFixed(1)}-${((b.bin + 1) / 10).toFixed(1)} ${"#".repeat(Math.round((40 * b.n) / max)).padEnd(40)} ${b.n}`,
      );

    const segments = await db.prisma.$queryRawUnsafe<{ segment: string; n: number; churn: number; clv: number }[]>(
      `SELECT segment, count(*)::int AS n, avg(churn_probability)::float8 AS churn, avg(clv)::float8 AS clv FROM scores WHERE run_id = $1 GROUP BY segment`,
      runId,
    );
    print(`${"segment".padEnd(20)} ${"customers".padStart(9)} ${"avg risk".padStart(9)} ${"avg CLV".padStart(9)}`);
    for (const name of SEGMENTS) {
      const s = segments.find((x) => x.segment === name);
      if (s)
        print(
          `${name.padEnd(20)} ${String(s.n).padStart(9)} ${s.churn.toFixed(2).padStart(9)} ${s.clv.toFixed(2).padStart(9)}`,
        );
    }

    const metrics = await computeMetrics(db, {
      from: new Date(asOf.getTime() - 90 * 86_400_000),
      to: asOf,
      defaultGrossMargin: config.analytics.defaultGrossMargin,
    });
    print("last 90 days:");
    for (const line of formatMetrics(metrics, "")) print(line);

    const file = path.join(ctx.outputDir, "risk-distribution.png");
    writeFileSync(file, await riskHistogramPng(full, `Churn risk of ${summary.customers} customers`));
    print(`chart: ${file}`);
  },
};
