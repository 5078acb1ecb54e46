// `retention train`, `retention score`, `retention metrics`: the analytics engine by hand.
import type { Command } from "commander";
import { computeMetrics, type RetentionMetrics } from "../../core/analytics/metrics";
import { scoreAll, type ScoreRunSummary } from "../../core/analytics/scoring";
import { SEGMENTS } from "../../core/analytics/segments";
import { trainChurnModel, type TrainedChurnModel } from "../../core/analytics/training";
import { buildContext, UserError } from "../context";
import { createProgress } from "../progress";
import { warnIfStale } from "./stale-history";
import { parseDate, parseSegment } from "./options";

const DAY_MS = 86_400_000;

const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null, digits = 2) => (v === null ? "n/a" : v.toFixed(digits));

/** The readable summary of a scoring run, one line each. */
export function formatScoreSummary(summary: ScoreRunSummary): string[] {
  const lines = [
    `scored ${summary.customers.toLocaleString("en")} customers in ${(summary.durationMs / 1000).toFixed(1)} s (run ${summary.runId}, ${summary.method === "logistic" ? `model ${summary.modelId}` : "no trained model: BG/NBD fallback"})`,
    `risk: high ${summary.riskBands.high}  medium ${summary.riskBands.medium}  low ${summary.riskBands.low}`,
    "segments:",
  ];
  for (const segment of SEGMENTS) {
    const n = summary.segments[segment] ?? 0;
    if (n > 0)
      lines.push(
        `  ${segment.padEnd(20)} ${String(n).padStart(9)}  ${pct(n / Math.max(1, summary.customers)).padStart(6)}`,
      );
  }
  return lines;
}

/** The readable metrics table. */
export function formatMetrics(m: RetentionMetrics, currency = ""): string[] {
  const money = (v: number | null) => (v === null ? "n/a" : `${currency}${v.toFixed(2)}`);
  return [
    `period ${m.from.toISOString().slice(0, 10)} .. ${m.to.toISOString().slice(0, 10)} (${Math.round(m.periodDays)} days)${m.segment ? `, segment ${m.segment}` : ""}`,
    `  members               ${m.members}`,
    `  churn rate            ${pct(m.churnRate)}  (${m.lost} lost of ${m.customersAtStart} active at start)`,
    `  activity rate         ${pct(m.activityRate)}  (${m.active90} active in 90 days)`,
    `  repeat-purchase rate  ${pct(m.repeatPurchaseRate)}  (${m.repeatBuyers} of ${m.buyers} buyers)`,
    `  revenue               net ${money(m.revenue)} = gross ${money(m.grossRevenue)} - refunds ${money(m.refunds)}${m.segment ? "" : `; not attributed to a customer ${money(m.unattributedRevenue)}`}`,
    `  average order value   ${money(m.aov)}  (${m.purchases} purchases, net revenue)`,
    `  purchase frequency    ${num(m.purchaseFrequency)} per buyer per period`,
    `  gross margin          ${pct(m.grossMargin)}`,
    `  LTV                   ${money(m.ltv)}  (lifetime ${num(m.expectedLifetimePeriods, 1)} periods)`,
    `  NPS                   ${m.nps.nps === null ? "n/a" : m.nps.nps.toFixed(1)}  (${m.nps.promoters} promoters, ${m.nps.passives} passives, ${m.nps.detractors} detractors)`,
  ];
}

/** The readable outcome of `train`: backtest per window, the choice, BG/NBD, activation. */
export function formatTrainResult(t: TrainedChurnModel): string[] {
  const m = t.metrics;
  const auc = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(3));
  const lines = [
    `model ${t.modelId} (${m.chosen}) trained in ${(t.trainingMs / 1000).toFixed(1)} s on history before ${t.cutoff.toISOString().slice(0, 10)}: ${m.trainRows} customers, churn rate ${pct(m.churnRate)}`,
    `  out-of-time backtest, mean AUC: ${Object.entries(m.models)
      .map(([k, v]) => `${k} ${auc(v?.auc)}`)
      .join(", ")} -> ${m.chosen}`,
    ...m.backtest.map(
      (w) =>
        `    cut-off ${w.cutoff} (+${w.horizonDays} d, ${w.customers} customers, churn ${pct(w.churnRate)}): ${Object.entries(
          w.models,
        )
          .map(([k, v]) => `${k} ${auc(v.auc)}`)
          .join(
            ", ",
          )}; recency ${auc(w.baselines.recency.auc)}, BG/NBD ${auc(w.baselines.bgnbd.auc)}, 1-P(alive) ${auc(w.baselines.palive.auc)}`,
    ),
    `  BG/NBD: ${m.bgnbd.method}${m.bgnbd.degenerate ? ` (maximum likelihood degenerated: ${m.bgnbd.reason})` : ""}`,
    `  ${t.activated ? "activated" : "NOT activated"}: ${m.activation.why}${m.activation.previousAuc !== null ? ` (previous AUC ${auc(m.activation.previousAuc)})` : ""}`,
    ...m.notes.map((n) => `  note: ${n}`),
  ];
  return lines;
}

export function registerAnalyticsCommands(program: Command): void {
  program
    .command("train")
    .description(
      "Backtest the churn model candidates out of time, fit the best on the latest history (as-of minus the churn " +
        "horizon), calibrate it, and make it active if it beats the active model on the same backtest",
    )
    .option("--as-of <date>", "the end of known history (default: now)")
    .option("--force", "activate the new model even if the active one does better on the backtest")
    .option("--json", "print the result as JSON")
    .action(async (opts: { asOf?: string; json?: boolean; force?: boolean }) => {
      const ctx = await buildContext();
      try {
        const asOf = opts.asOf ? parseDate(opts.asOf, "--as-of") : ctx.now();
        if (!opts.asOf) await warnIfStale(ctx, "train");
        const result = await trainChurnModel(ctx.db, {
          asOf,
          horizonDays: ctx.config.analytics.churnHorizonDays,
          log: ctx.log,
          now: ctx.now,
          force: opts.force === true,
        });
        if (!result.ok) throw new UserError(`not trained: ${result.error.message}`);
        const { modelId, metrics, trainingMs, cutoff, activated } = result.value;
        if (opts.json) return void console.log(JSON.stringify({ modelId, cutoff, trainingMs, activated, ...metrics }));
        console.log(formatTrainResult(result.value).join("\n"));
      } finally {
        await ctx.close();
      }
    });

  program
    .command("score")
    .description("Score every customer: churn probability, P(alive), CLV, RFM segment, risk band, reasons")
    .option("--as-of <date>", "score as of this date (default: now)")
    .option("--json", "print the summary as JSON")
    .action(async (opts: { asOf?: string; json?: boolean }) => {
      const ctx = await buildContext();
      let bar: ReturnType<typeof createProgress> | null = null;
      let phase = "";
      let phaseStarted = Date.now();
      let lastReport = phaseStarted;
      try {
        const asOf = opts.asOf ? parseDate(opts.asOf, "--as-of") : ctx.now();
        if (!opts.asOf) await warnIfStale(ctx, "score");
        const summary = await scoreAll(ctx.db, {
          asOf,
          config: ctx.config.analytics,
          log: ctx.log,
          now: ctx.now,
          onProgress: (p) => {
            if (p.phase !== phase) {
              bar?.stop();
              if (phase) phaseStarted = lastReport; // writing starts when the feature pass ended
              phase = p.phase;
              bar = createProgress(p.phase === "features" ? "scoring" : "writing", p.total, "customers", phaseStarted);
            }
            bar?.update(p.done, p.done);
            lastReport = Date.now();
          },
        });
        (bar as ReturnType<typeof createProgress> | null)?.stop();
        if (opts.json) console.log(JSON.stringify(summary));
        else for (const line of formatScoreSummary(summary)) console.log(line);
      } finally {
        await ctx.close();
      }
    });

  program
    .command("metrics")
    .description("Retention metrics over a period: NPS, churn, activity, repeat rate, AOV, frequency, LTV")
    .option("--from <date>", "period start (default: 90 days before --to)")
    .option("--to <date>", "period end, exclusive (default: now)")
    .option("--segment <name>", `only customers in this segment of the current scoring run (${SEGMENTS.join(", ")})`)
    .option("--json", "print the metrics as JSON")
    .action(async (opts: { from?: string; to?: string; segment?: string; json?: boolean }) => {
      const segment = opts.segment ? parseSegment(opts.segment, "--segment") : undefined;
      const ctx = await buildContext();
      try {
        const to = opts.to ? parseDate(opts.to, "--to") : ctx.now();
        const from = opts.from ? parseDate(opts.from, "--from") : new Date(to.getTime() - 90 * DAY_MS);
        if (from >= to) throw new UserError("--from must be before --to");
        // Up to today on a history that ended before the period: every figure would be n/a.
        if (!opts.to) await warnIfStale(ctx, "metrics", Math.ceil((to.getTime() - from.getTime()) / DAY_MS));
        const metrics = await computeMetrics(ctx.db, {
          from,
          to,
          segment,
          defaultGrossMargin: ctx.config.analytics.defaultGrossMargin,
        });
        if (opts.json) console.log(JSON.stringify(metrics));
        else for (const line of formatMetrics(metrics)) console.log(line);
      } finally {
        await ctx.close();
      }
    });
}
