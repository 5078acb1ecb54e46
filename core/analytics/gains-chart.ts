// The gains chart of a backtest: share of next-horizon churners reached when contacting the
// riskiest customers first, for the chosen model and the baselines (Vega-Lite, rendered to PNG
// the way the staff digest renders its chart).
import type { TopLevelSpec } from "vega-lite";
import { renderChartPng } from "../staff/digest-chart";
import type { BacktestWindow } from "./backtest";

const SERIES_NAMES: Record<string, string> = {
  logistic: "logistic regression",
  gbt: "gradient-boosted trees",
  recency: "recency alone",
  bgnbd: "BG/NBD expected purchases",
  palive: "1 - P(alive)",
};

/** The Vega-Lite spec of a backtest's cumulative gains. */
export function gainsChartSpec(w: BacktestWindow): TopLevelSpec {
  const values = Object.entries(w.gains).flatMap(([series, points]) =>
    points.map((p) => ({
      series: SERIES_NAMES[series] ?? series,
      contacted: Math.round(p.contacted * 1000) / 10,
      captured: Math.round(p.captured * 1000) / 10,
    })),
  );
  values.push({ series: "random", contacted: 0, captured: 0 }, { series: "random", contacted: 100, captured: 100 });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `Churn gains, cut-off ${w.cutoff}, next ${w.horizonDays} days`,
      subtitle: `${w.customers} customers, ${(100 * w.churnRate).toFixed(1)}% churned; chosen model ${w.chosen} (AUC ${w.auc.toFixed(3)})`,
      anchor: "start",
    },
    width: 560,
    height: 380,
    data: { values },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "contacted", type: "quantitative", title: "Customers contacted, riskiest first (%)" },
      y: { field: "captured", type: "quantitative", title: "Churners reached (%)" },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom-right", labelLimit: 320 } },
      strokeDash: {
        condition: { test: "datum.series === 'random'", value: [4, 4] },
        value: [1, 0],
      },
    },
    config: { font: "DejaVu Sans, Liberation Sans, Arial, sans-serif" },
  } as TopLevelSpec;
}

/** The gains chart as PNG bytes. */
export function renderGainsPng(w: BacktestWindow): Promise<Buffer> {
  return renderChartPng(gainsChartSpec(w));
}
