// The digest's chart: weekly NPS (line, left axis) over answer counts (bars, right axis),
// rendered Vega-Lite -> Vega -> SVG -> PNG offline (resvg, system fonts).
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { DigestWeek } from "./digest";

/** The Vega-Lite spec of the weekly NPS chart. */
export function npsChartSpec(weeks: readonly DigestWeek[], title = "NPS by week"): TopLevelSpec {
  const values = weeks.map((w) => ({
    week: w.weekStart.toISOString().slice(0, 10),
    nps: w.nps === null ? null : Math.round(w.nps * 10) / 10,
    low: w.interval ? Math.round(w.interval.low) : null,
    high: w.interval ? Math.round(w.interval.high) : null,
    answers: w.respondents,
  }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: [
        "NPS = % promoters (9-10) − % detractors (0-6); the blue band is its 95% interval",
        "grey bars: answers that week (few answers, wide interval)",
      ],
      anchor: "start",
    },
    width: 640,
    height: 300,
    data: { values },
    encoding: { x: { field: "week", type: "ordinal", title: "Week starting", axis: { labelAngle: -40 } } },
    layer: [
      {
        mark: { type: "bar", color: "#cfd8e3", opacity: 0.8 },
        encoding: {
          y: { field: "answers", type: "quantitative", title: "Answers", axis: { orient: "right", grid: false } },
        },
      },
      {
        layer: [
          {
            mark: { type: "rule", color: "#1f6feb", opacity: 0.35, strokeWidth: 6 },
            encoding: { y: { field: "low", type: "quantitative" }, y2: { field: "high" } },
          },
          {
            mark: {
              type: "line",
              color: "#1f6feb",
              strokeWidth: 3,
              point: { filled: true, size: 60, color: "#1f6feb" },
            },
          },
          {
            mark: { type: "text", dy: -12, fontSize: 11, fontWeight: "bold", color: "#1f2328" },
            encoding: { text: { field: "nps", type: "quantitative", format: ".0f" } },
          },
        ],
        encoding: { y: { field: "nps", type: "quantitative", title: "NPS", scale: { domain: [-100, 100] } } },
      },
    ],
    resolve: { scale: { y: "independent" } },
    config: { font: "DejaVu Sans, Liberation Sans, Arial, sans-serif", view: { stroke: null } },
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to a PNG (white background). */
export async function renderChartPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG(scale);
  view.finalize();
  return Buffer.from(new Resvg(svg, { background: "white", font: { loadSystemFonts: true } }).render().asPng());
}
