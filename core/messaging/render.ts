// Turns an outbound message into the words and buttons a customer sees. Every kind is handled in
// one exhaustive switch; the wording comes from the locale files, and an offer is written by the
// LLM from `prompts/offer.md` when a `ChatModel` is given (falling back to the template if the
// model fails or answers with nothing usable).
import { z } from "zod";
import { completeWithin, type ChatModel } from "../llm/chat-model";
import { fillPrompt, loadPrompt, type PromptSource } from "../llm/prompts";
import type { Logger } from "../log";
import { offerText } from "../offers/offer-text";
import { assertUnreachable } from "../result";
import { encodeCallback } from "./callback-data";
import type { OutboundMessage, RenderedMessage } from "./channel";
import { defaultTranslator, pickLocale, type Translator } from "./locales";

export type { RenderedButton, RenderedMessage } from "./channel";

export interface RenderOptions {
  locale: string;
  chatModel?: ChatModel;
  /** The model's answer is awaited this long at most, then the template is used (default 10 s). */
  modelTimeoutMs?: number;
  prompts?: PromptSource;
  translate?: Translator;
  log?: Logger;
}

/**
 * What an offer message may carry in its payload. Only `offerIssueId` and `title` are needed;
 * the rest personalises the text (see `loadOfferContext` in core/offers to fill it).
 */
export const offerPayloadSchema = z.object({
  offerIssueId: z.coerce.number().int(),
  /** The default title and description; `translations` (the catalogue's) may word them per language. */
  title: z.string().min(1),
  description: z.string().nullish(),
  translations: z.unknown().optional(),
  code: z.string().optional(),
  expiresAt: z.coerce.date().optional(),
  customerName: z.string().nullish(),
  segment: z.string().nullish(),
  topCategory: z.string().nullish(),
  /** A category they did not buy recently, suggested by co-purchase (core/offers/category-recommendation.ts). */
  recommendedCategory: z.string().nullish(),
  reasons: z.array(z.object({ code: z.string().optional(), text: z.string() }).loose()).optional(),
});
export type OfferPayload = z.infer<typeof offerPayloadSchema>;

const ticketPayloadSchema = z.object({
  reference: z.string(),
  text: z.string().optional(),
  /** The reply as Telegram HTML (staff wrote it with formatting); `text` is its plain form. */
  html: z.string().optional(),
  document: z.object({ fileName: z.string().min(1), base64: z.string() }).optional(),
  ticketId: z.coerce.number().int().optional(),
  /** An edit: the provider id of the delivered reply whose text this replaces. */
  replaces: z.string().min(1).optional(),
});

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
const noticePayloadSchema = z.object({
  key: z.string().optional(),
  text: z.string().optional(),
  vars: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  /** Show the phone button with the notice. */
  requestPhone: z.boolean().optional(),
  /** Remove the phone button shown earlier. */
  removeKeyboard: z.boolean().optional(),
});

const linkMovePayloadSchema = z.object({ token: z.string().min(1) });

const LANGUAGE_NAMES: Record<string, string> = { en: "English", ru: "Russian" };
const MAX_LLM_TEXT = 700;

/** The first word of a name: the model and the greeting never need more. */
export function firstName(name: string | null | undefined): string | null {
  const first = name?.trim().split(/\s+/)[0];
  return first ? first : null;
}

export function formatDate(date: Date, locale: string): string {
  return new Intl.DateTimeFormat(pickLocale(locale), { dateStyle: "long", timeZone: "UTC" }).format(date);
}

/**
 * Renders one outbound message for `options.locale`.
 * @throws ZodError when the payload lacks what its kind needs (a bug in whoever enqueued it).
 */
export async function renderMessage(message: OutboundMessage, options: RenderOptions): Promise<RenderedMessage> {
  const t = options.translate ?? defaultTranslator();
  const locale = pickLocale(options.locale);
  const tr = (key: string, vars?: Record<string, string | number>) => t(locale, key, vars);
  switch (message.kind) {
    case "offer": {
      const offer = offerPayloadSchema.parse(message.payload);
      const text =
        (options.chatModel && (await offerByModel(offer, locale, options, t))) || offerByTemplate(offer, locale, t);
      const button = (action: "accept" | "decline" | "stop", key: string) => ({
        text: tr(key),
        data: encodeCallback({ type: "offer", action, issueId: offer.offerIssueId }),
      });
      return {
        text,
        buttons: [
          [button("accept", "offer-btn-accept")],
          [button("decline", "offer-btn-decline"), button("stop", "offer-btn-stop")],
        ],
      };
    }
    case "survey_nps": {
      const score = (n: number) => ({
        text: String(n),
        data: encodeCallback({ type: "nps", outboxId: message.outboxId, score: n }),
      });
      return {
        text: tr("survey-nps-question"),
        buttons: [[0, 1, 2, 3, 4, 5].map(score), [6, 7, 8, 9, 10].map(score)],
      };
    }
    case "survey_servqual":
      return {
        text: tr("survey-servqual-invite"),
        buttons: [
          [
            {
              text: tr("survey-servqual-btn-start"),
              data: encodeCallback({ type: "servqual_start", outboxId: message.outboxId }),
            },
          ],
        ],
      };
    case "ticket_ack": {
      const { reference } = ticketPayloadSchema.parse(message.payload);
      return { text: tr("ticket-ack", { reference }) };
    }
    case "ticket_reply": {
      const { reference, text, html, document, replaces } = ticketPayloadSchema.parse(message.payload);
      if (document) return { text: tr("ticket-file", { reference }), document };
      const edit = replaces ? { replaces } : {};
      if (html === undefined) return { text: tr("ticket-reply", { reference, text: text ?? "" }), ...edit };
      // The wording is escaped; the staff's formatted reply goes in where the text would.
      const slot = "\u0000reply\u0000";
      return {
        text: escapeHtml(tr("ticket-reply", { reference, text: slot })).replace(slot, html),
        html: true,
        ...edit,
      };
    }
    case "csat_request": {
      const { reference, ticketId } = ticketPayloadSchema.required({ ticketId: true }).parse(message.payload);
      return {
        text: tr("csat-request", { reference }),
        buttons: [
          [1, 2, 3, 4, 5].map((n) => ({ text: String(n), data: encodeCallback({ type: "csat", ticketId, score: n }) })),
        ],
      };
    }
    case "notice": {
      const notice = noticePayloadSchema.parse(message.payload);
      return {
        text: notice.key ? tr(notice.key, notice.vars) : tr("notice-generic", { text: notice.text ?? "" }),
        ...(notice.requestPhone ? { requestPhone: tr("btn-share-phone") } : {}),
        ...(notice.removeKeyboard ? { removeKeyboard: true } : {}),
      };
    }
    case "link_move": {
      const { token } = linkMovePayloadSchema.parse(message.payload);
      const answer = (confirm: boolean, key: string) => ({
        text: tr(key),
        data: encodeCallback({ type: "link_move", confirm, token }),
      });
      return {
        text: tr("link-move-confirm"),
        buttons: [[answer(true, "link-move-btn-yes"), answer(false, "link-move-btn-no")]],
      };
    }
    default:
      return assertUnreachable(message.kind);
  }
}

/** Days since the last order, from the score's "overdue" reason, or null. */
function daysSinceLastOrder(offer: OfferPayload): number | null {
  // Score reasons are written for staff; the customer only hears the one that is about them
  // and kind to say: how long it has been since their last order.
  const overdue = offer.reasons?.find((r) => r.code === "overdue")?.values as { daysSince?: unknown } | undefined;
  return typeof overdue?.daysSince === "number" && overdue.daysSince > 0 ? Math.round(overdue.daysSince) : null;
}

/**
 * The template offer text: greeting (with the brand), one sentence on how long it has been, the
 * offer in the customer's language (with their favourite category, quoted so no language has to
 * inflect it), a suggested category (quoted after the same fixed noun), its description, its expiry.
 */
export function offerByTemplate(offer: OfferPayload, locale: string, t: Translator): string {
  const name = firstName(offer.customerName);
  const days = daysSinceLastOrder(offer);
  const { title, description } = offerText(offer, locale);
  const lines = [
    name ? t(locale, "offer-hello", { name }) : t(locale, "offer-hello-anonymous"),
    days ? t(locale, "offer-since-days", { days }) : t(locale, "offer-since"),
    offer.topCategory
      ? t(locale, "offer-line-category", { title, category: offer.topCategory })
      : t(locale, "offer-line", { title }),
    ...(offer.recommendedCategory && offer.recommendedCategory !== offer.topCategory
      ? [t(locale, "offer-recommend", { category: offer.recommendedCategory })]
      : []),
    ...(description ? [description] : []),
    ...(offer.expiresAt ? [t(locale, "offer-expires", { date: formatDate(offer.expiresAt, locale) })] : []),
  ];
  return lines.join("\n");
}

/** The variables `prompts/offer.md` takes, from an offer payload. */
export function offerPromptVars(offer: OfferPayload, locale: string, t: Translator): Record<string, string> {
  const text = offerText(offer, locale);
  return {
    language: LANGUAGE_NAMES[locale] ?? "English",
    // The prompt is English: the brand as English texts name it (BRAND_NAME, or "our shop").
    brand: t("en", "brand-name"),
    name: firstName(offer.customerName) ?? "",
    top_category: offer.topCategory ?? "unknown",
    recommended_category: offer.recommendedCategory ?? "none",
    offer_title: text.title,
    offer_description: text.description ?? "nothing",
    expires: offer.expiresAt ? formatDate(offer.expiresAt, locale) : "the end of the offer",
    segment: offer.segment ?? "unknown",
    reasons: offer.reasons?.length ? offer.reasons.map((r) => r.text).join("; ") : "none given",
  };
}

async function offerByModel(
  offer: OfferPayload,
  locale: string,
  options: RenderOptions,
  t: Translator,
): Promise<string | null> {
  const prompt = fillPrompt((options.prompts ?? loadPrompt)("offer"), offerPromptVars(offer, locale, t));
  try {
    // A slow model must not hold the message (nor its outbox claim): the template goes instead.
    const completion = await completeWithin(
      options.chatModel!,
      [{ role: "user", content: prompt }],
      { maxTokens: 300, temperature: 0.7 },
      options.modelTimeoutMs ?? 10_000,
    );
    const text = completion.text
      .trim()
      .replace(/^["«]|["»]$/g, "")
      .trim();
    if (!text || text.length > MAX_LLM_TEXT || /\{\{|https?:\/\//.test(text)) return null;
    return text;
  } catch (error) {
    options.log?.warn(
      { err: error instanceof Error ? error.message : String(error), kind: "offer" },
      "offer text by model failed, using the template",
    );
    return null;
  }
}
