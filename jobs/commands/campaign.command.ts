// `retention campaign ...`: create, plan, report and list campaigns, and manage the offer
// catalogue they choose from.
import type { Command } from "commander";
import { createCampaign, listCampaigns, type CampaignError } from "../../core/campaigns/campaign";
import { contactPolicyFromConfig } from "../../core/campaigns/contact-policy";
import { listOffers, upsertOffer, type OfferTranslations } from "../../core/campaigns/offer-catalogue";
import { SUPPORTED_LOCALES } from "../../core/messaging/locales";
import { planCampaign, type PlanError } from "../../core/campaigns/plan";
import type { UpliftLearner } from "../../core/campaigns/uplift-learner";
import { fitUpliftModel } from "../../core/campaigns/uplift-model";
import { campaignReport, formatCampaignReport } from "../../core/campaigns/report";
import { assertUnreachable } from "../../core/result";
import { UserError } from "../context";
import { list, number, parseDate, parseSegment, withContext } from "./options";

function explain(error: CampaignError | PlanError): string {
  switch (error.type) {
    case "invalid":
      return `invalid campaign:\n  ${error.problems.join("\n  ")}`;
    case "unknown_offers":
      return `unknown or inactive offers: ${error.keys.join(", ")} (see: retention campaign offers)`;
    case "not_found":
      return `no campaign ${error.campaignId}`;
    case "no_scores":
      return "no finished scoring run yet: run `retention run score` first";
    case "finished":
      return `campaign ${error.campaignId} is finished`;
    default:
      return assertUnreachable(error);
  }
}

function describeLearner(learner: UpliftLearner | null): string {
  if (!learner) return "no per-customer learner";
  const qini = learner.qini === null ? "n/a" : learner.qini.toFixed(3);
  return learner.weight > 0
    ? `per-customer learner (Qini ${qini}, ${learner.heldOut}) weighted ${learner.weight.toFixed(2)} against the cells`
    : `per-customer learner not used (Qini ${qini}${learner.heldOut ? `, ${learner.heldOut}` : ""}: not above zero)`;
}

function parseRankBy(value: string | undefined): "uplift" | "risk" | undefined {
  if (value === undefined || value === "uplift" || value === "risk") return value;
  throw new UserError(`--rank-by: "${value}" is not a ranking; use uplift or risk`);
}

function parseSplit(value: string | undefined): { seed: string; part: number; parts: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(.+):(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new UserError(`--split: "${value}" is not seed:part/parts (e.g. ab:0/2)`);
  return { seed: m[1]!, part: Number(m[2]), parts: Number(m[3]) };
}

export function registerCampaignCommands(program: Command): void {
  const campaign = program.command("campaign").description("Retention campaigns with a control group");
  campaign
    .command("create")
    .description("Create a campaign (draft); the campaign job or `campaign plan` plans it")
    .requiredOption("--name <name>", "campaign name")
    .requiredOption("--offers <keys>", "comma-separated offer keys to choose from", list)
    .option("--control-share <share>", "share held out as control (default 0.1)", number("--control-share"))
    .option(
      "--explore-share <share>",
      "share of the selected customers and budget given random offers so the policy keeps learning (default 0.1)",
      number("--explore-share"),
    )
    .option("--budget <amount>", "maximum committed offer cost", number("--budget"))
    .option("--segments <names>", "only these segments", list)
    .option("--risk-bands <bands>", "only these risk bands (low, medium, high)", list)
    .option("--min-risk <p>", "minimum churn probability", number("--min-risk"))
    .option("--min-clv <amount>", "minimum CLV", number("--min-clv"))
    .option("--days-since-purchase <n>", "minimum days since the last purchase", number("--days-since-purchase"))
    .option("--days-since-offer <n>", "minimum days since the last offer", number("--days-since-offer"))
    .option(
      "--rank-by <policy>",
      "uplift: by expected incremental value, learned from finished campaigns (default); risk: by churn probability with the hand-typed best offer",
    )
    .option(
      "--split <seed:part/parts>",
      "only one of `parts` disjoint random shares of the customers (e.g. ab:0/2 and ab:1/2 for two policies side by side)",
    )
    .option("--window-days <n>", "attribution window (default 30)", number("--window-days"))
    .option("--schedule <cron>", "re-plan on this cron schedule (new eligible customers join)")
    .option("--seed <seed>", "seed for the treatment/control split (default random)")
    .option("--starts-at <date>", "do not send before this time")
    .action(async (o: Record<string, unknown>) => {
      await withContext(undefined, async (ctx) => {
        const created = await createCampaign(
          ctx.db,
          {
            name: o.name as string,
            offerKeys: o.offers as string[],
            controlShare: o.controlShare as number | undefined,
            exploreShare: o.exploreShare as number | undefined,
            budget: (o.budget as number | undefined) ?? null,
            targeting: {
              segments: (o.segments as string[] | undefined)?.map((name) => parseSegment(name, "--segments")),
              riskBands: o.riskBands as ("low" | "medium" | "high")[] | undefined,
              minRisk: o.minRisk as number | undefined,
              minClv: o.minClv as number | undefined,
              minDaysSinceLastPurchase: o.daysSincePurchase as number | undefined,
              minDaysSinceLastOffer: o.daysSinceOffer as number | undefined,
              rankBy: parseRankBy(o.rankBy as string | undefined),
              split: parseSplit(o.split as string | undefined),
            },
            windowDays: o.windowDays as number | undefined,
            schedule: (o.schedule as string | undefined) ?? null,
            seed: o.seed as string | undefined,
            startsAt: o.startsAt ? parseDate(o.startsAt as string, "--starts-at") : null,
          },
          { now: ctx.now() },
        );
        if (!created.ok) throw new UserError(explain(created.error));
        process.stdout.write(`created campaign ${created.value.id} "${created.value.name}" (draft)\n`);
      });
    });
  campaign
    .command("plan <id>")
    .description("Assign treatment/control, choose offers and queue messages (idempotent)")
    .option("--as-of <date>", "the clock (default: now)")
    .action(async (id: string, opts: { asOf?: string }) => {
      await withContext(opts.asOf, async (ctx) => {
        const uplift = await fitUpliftModel(ctx.db, {
          now: ctx.now(),
          learnerShrinkage: ctx.config.analytics.upliftLearnerShrinkage,
        });
        const planned = await planCampaign(ctx.db, Number(id), {
          now: ctx.now(),
          policy: contactPolicyFromConfig(ctx.config),
        });
        if (!planned.ok) throw new UserError(explain(planned.error));
        const p = planned.value;
        process.stdout.write(
          `campaign ${p.campaignId}: +${p.treatment} treatment, +${p.control} control, ${p.offersIssued} offers issued, ` +
            `${p.messagesQueued} messages queued, committed cost ${p.committedCost.toFixed(2)} (${p.durationMs} ms)\n` +
            `policy: ${uplift ? `uplift learned from ${uplift.campaigns} finished campaign(s), Qini ${uplift.qini === null ? "n/a" : uplift.qini.toFixed(3)} on the newest held out; ${describeLearner(uplift.learner)}` : "hand-typed save probabilities (no finished campaign yet)"}; ${p.explored} of the new treated exploring\n` +
            `excluded: ${
              Object.entries(p.excluded)
                .map(([k, n]) => `${k} ${n}`)
                .join(", ") || "none"
            }\n`,
        );
        const considered = p.treatment + p.control + Object.values(p.excluded).reduce((a, b) => a + b, 0);
        if (considered === 0)
          process.stdout.write(
            `nobody new matched the campaign's targeting in scoring run ${p.scoreRunId}: customers already in the ` +
              "campaign are not planned again; otherwise widen the targeting (risk bands, segments, minimum risk or CLV) " +
              "or score again (retention score)\n",
          );
      });
    });
  campaign
    .command("report <id>")
    .description("Retention, revenue, lift with 95% CI, ROI, NPV and payback, per risk band")
    .option("--as-of <date>", "the clock (default: now)")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { asOf?: string; json?: boolean }) => {
      await withContext(opts.asOf, async (ctx) => {
        const report = await campaignReport(ctx.db, Number(id), {
          now: ctx.now(),
          defaultGrossMargin: ctx.config.analytics.defaultGrossMargin,
        });
        if (!report.ok) throw new UserError(explain(report.error));
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(report.value, null, 2)}\n`
            : `${formatCampaignReport(report.value).join("\n")}\n`,
        );
      });
    });
  campaign
    .command("list")
    .description("All campaigns")
    .action(async () => {
      await withContext(undefined, async (ctx) => {
        for (const c of await listCampaigns(ctx.db)) {
          process.stdout.write(
            `${String(c.id).padStart(4)}  ${c.status.padEnd(8)} ${c.name}  offers ${c.offerKeys.join(",")}  control ${(c.controlShare * 100).toFixed(0)}%  window ${c.windowDays}d${c.plannedAt ? `  planned ${c.plannedAt.toISOString()}` : ""}\n`,
          );
        }
      });
    });
  const offerAdd = campaign
    .command("offer-add")
    .description("Add or update an offer in the catalogue")
    .requiredOption("--key <key>", "stable key, e.g. winback-15")
    .requiredOption("--title <title>", "what the customer sees, in every language without its own --title-<lang>")
    .option("--description <text>", "a sentence under the title (every language without its own)")
    .requiredOption("--kind <kind>", "percent_off | amount_off | free_shipping | gift | points")
    .requiredOption("--value <n>", "percent or amount", number("--value"))
    .requiredOption("--cost <n>", "expected cost to the business if redeemed", number("--cost"))
    .option(
      "--save-probability <p>",
      "prior probability it saves an at-risk customer",
      number("--save-probability"),
      0.1,
    )
    .option("--valid-days <n>", "days the code stays valid (default 14)", number("--valid-days"));
  for (const locale of SUPPORTED_LOCALES)
    offerAdd
      .option(`--title-${locale} <title>`, `the title in ${locale}`)
      .option(`--description-${locale} <text>`, `the description in ${locale}`);
  offerAdd.action(async (o: Record<string, string | number | undefined>) => {
    await withContext(undefined, async (ctx) => {
      const translations: OfferTranslations = {};
      for (const locale of SUPPORTED_LOCALES) {
        const suffix = locale.charAt(0).toUpperCase() + locale.slice(1);
        const title = o[`title${suffix}`] as string | undefined;
        const description = o[`description${suffix}`] as string | undefined;
        if (description !== undefined && title === undefined)
          throw new UserError(`--description-${locale} needs --title-${locale}`);
        if (title !== undefined) translations[locale] = { title, ...(description ? { description } : {}) };
      }
      const saved = await upsertOffer(ctx.db, {
        key: o.key as string,
        title: o.title as string,
        ...(o.description === undefined ? {} : { description: o.description as string }),
        translations,
        kind: o.kind as "percent_off",
        value: o.value as number,
        cost: o.cost as number,
        saveProbability: o.saveProbability as number,
        ...(o.validDays === undefined ? {} : { validDays: o.validDays as number }),
      });
      if (!saved.ok) throw new UserError(`invalid offer:\n  ${saved.error.problems.join("\n  ")}`);
      const languages = Object.keys(saved.value.translations);
      process.stdout.write(
        `offer ${saved.value.key} saved${languages.length ? ` (own words in ${languages.join(", ")})` : ""}\n`,
      );
    });
  });
  campaign
    .command("offers")
    .description("The offer catalogue")
    .action(async () => {
      await withContext(undefined, async (ctx) => {
        for (const o of await listOffers(ctx.db)) {
          process.stdout.write(
            `${o.key.padEnd(20)} ${o.active ? "active  " : "inactive"} cost ${o.cost.toFixed(2)}  P(save) ${o.saveProbability}  ${o.title}${Object.entries(
              o.translations,
            )
              .map(([locale, text]) => `  [${locale}] ${text.title}`)
              .join("")}\n`,
          );
        }
      });
    });
}
