// An offer's words in the customer's language. The catalogue keeps a default title and
// description (the old single-language form, read in every language) and per-language ones in
// `offers.translations`; the offer message, the LLM prompt and the code confirmation all read
// them through `offerText`.
import { SUPPORTED_LOCALES, type Locale } from "../messaging/locales";

/** An offer's words in one language. */
export interface OfferText {
  title: string;
  description?: string;
}

export type OfferTranslations = Partial<Record<Locale, OfferText>>;

/** Reads the stored `translations` column defensively: entries without a title are dropped. */
export function readTranslations(raw: unknown): OfferTranslations {
  const out: OfferTranslations = {};
  if (!raw || typeof raw !== "object") return out;
  for (const locale of SUPPORTED_LOCALES) {
    const entry = (raw as Record<string, unknown>)[locale] as { title?: unknown; description?: unknown } | undefined;
    if (typeof entry?.title !== "string" || !entry.title.trim()) continue;
    out[locale] = {
      title: entry.title,
      ...(typeof entry.description === "string" && entry.description.trim() ? { description: entry.description } : {}),
    };
  }
  return out;
}

/** The offer's words in `locale`: its translation, or the default title and description. */
export function offerText(
  offer: { title: string; description?: string | null; translations?: unknown },
  locale: string,
): OfferText {
  const translated = readTranslations(offer.translations)[locale as Locale];
  if (translated) return translated;
  return { title: offer.title, ...(offer.description ? { description: offer.description } : {}) };
}
