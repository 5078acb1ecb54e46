// Demo: the staff's weekly digest from the synthetic retailer, with its chart as a PNG.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildDigest } from "../digest.job";
import type { DemoStep } from "./demo-step";

export const digestStep: DemoStep = {
  title: "Weekly digest for staff (Slack text + NPS chart as PNG)",
  async run(ctx) {
    const started = Date.now();
    const { digest, png } = await buildDigest({ config: ctx.config, db: ctx.db, now: () => ctx.asOf });
    mkdirSync(ctx.outputDir, { recursive: true });
    const file = path.join(ctx.outputDir, "weekly-digest.png");
    writeFileSync(file, png);
    for (const line of digest.lines) ctx.print(line.replace(/\*/g, ""));
    ctx.print(`chart: ${file} (${Math.round(png.length / 1024)} KB), built in ${Date.now() - started} ms`);
  },
};
