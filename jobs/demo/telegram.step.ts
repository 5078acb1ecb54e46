// Demo: what customers would see in Telegram, rendered as a dry run (nothing is sent, with or
// without a token). The most at-risk customers by the newest scores get an offer; two of them
// also get the NPS question, in English and in Russian.
import { chatModelFromConfig } from "../../bot/llm/openai-chat";
import type { OutboundMessage } from "../../core/messaging/channel";
import { defaultTranslator } from "../../core/messaging/locales";
import { renderMessage, type RenderedMessage } from "../../core/messaging/render";
import { enrichOutboundMessage } from "../../core/offers/offer-context";
import type { DemoStep } from "./demo-step";

function show(print: (line?: string) => void, heading: string, rendered: RenderedMessage): void {
  print(`  ── ${heading}`);
  for (const line of rendered.text.split("\n")) print(`  │ ${line}`);
  const buttons = (rendered.buttons ?? []).map((row) => row.map((b) => `[${b.text}]`).join(" ")).join("  ");
  if (buttons) print(`  │ ${buttons}`);
}

export const telegramStep: DemoStep = {
  title: "Telegram messages (dry run)",
  async run(ctx) {
    // The most at-risk customers, in each language, written to in their own language.
    const atRisk = await ctx.db.prisma.$queryRaw<
      { id: number; churn: number | null; segment: string | null; locale: string }[]
    >`
      WITH latest AS (SELECT id FROM score_runs ORDER BY id DESC LIMIT 1),
      ranked AS (
        SELECT c.id, s.churn_probability AS churn, s.segment, coalesce(c.locale, ${ctx.config.business.locale}) AS locale,
               row_number() OVER (PARTITION BY coalesce(c.locale, ${ctx.config.business.locale}) ORDER BY s.churn_probability DESC NULLS LAST, c.id) AS n
        FROM customers c
        LEFT JOIN scores s ON s.customer_id = c.id AND s.run_id = (SELECT id FROM latest)
        WHERE c.erased_at IS NULL AND c.marketing_consent AND coalesce(c.locale, ${ctx.config.business.locale}) IN ('en', 'ru')
      )
      SELECT id, churn, segment, locale FROM ranked WHERE n <= 2 ORDER BY n, locale LIMIT 3`;
    if (atRisk.length === 0) {
      ctx.print("no customers to write to");
      return;
    }
    const offer = await ctx.db.prisma.offer.findFirst({ where: { active: true }, orderBy: { id: "asc" } });
    const title = offer?.title ?? "15% off your next order";
    // The catalogue's words in every language (the demo's offers have Russian ones).
    const words = { description: offer?.description ?? null, translations: offer?.translations ?? {} };
    const translate = defaultTranslator({ brand: ctx.config.business.brandName });
    const expiresAt = new Date(ctx.asOf.getTime() + (offer?.validDays ?? 14) * 86_400_000).toISOString();
    const chatModel = chatModelFromConfig(ctx.config);
    ctx.print(
      `${ctx.config.telegram.token ? "a token is set, but the demo sends nothing" : "no TELEGRAM_BOT_TOKEN"}; offer text by ${chatModel ? chatModel.name : "template (no OPENAI_API_KEY)"}`,
    );
    for (const customer of atRisk) {
      const locale = customer.locale;
      const base: OutboundMessage = {
        outboxId: 0,
        idempotencyKey: `demo:${customer.id}`,
        customerId: customer.id,
        chatId: null,
        locale,
        kind: "offer",
        payload: { offerIssueId: 0, title, expiresAt, ...words },
      };
      const message = await enrichOutboundMessage(ctx.db, base);
      const risk =
        customer.churn === null
          ? "not scored"
          : `churn risk ${(customer.churn * 100).toFixed(0)}%, ${customer.segment}`;
      show(
        ctx.print,
        `offer to customer ${customer.id} (${risk}), ${locale}`,
        await renderMessage(message, { locale, chatModel, translate, log: ctx.log }),
      );
    }
    for (const locale of ["en", "ru"]) {
      const survey: OutboundMessage = {
        outboxId: 0,
        idempotencyKey: "demo:nps",
        customerId: atRisk[0]!.id,
        chatId: null,
        locale,
        kind: "survey_nps",
        payload: {},
      };
      show(ctx.print, `NPS question, ${locale}`, await renderMessage(survey, { locale, translate }));
    }
    show(
      ctx.print,
      "service-quality survey invitation, ru",
      await renderMessage(
        {
          outboxId: 0,
          idempotencyKey: "demo:sq",
          customerId: null,
          chatId: null,
          locale: "ru",
          kind: "survey_servqual",
          payload: {},
        },
        { locale: "ru", translate },
      ),
    );
  },
};
