// The offer catalogue campaigns choose from: each offer has a cost to the business if redeemed
// and a prior probability that it saves an at-risk customer (used for expected value).
import { z } from "zod";
import type { Database } from "../db/client";
import { SUPPORTED_LOCALES } from "../messaging/locales";
import { readTranslations, type OfferTranslations } from "../offers/offer-text";

export type { OfferTranslations } from "../offers/offer-text";
import { err, ok, type Result } from "../result";

export const offerInputSchema = z
  .object({
    key: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, - and _"),
    title: z.string().trim().min(1).max(200),
    description: z.string().trim().min(1).max(1000).optional(),
    /** The title and description in other languages; a language left out reads `title` and `description`. */
    translations: z
      .partialRecord(
        z.enum(SUPPORTED_LOCALES),
        z
          .object({
            title: z.string().trim().min(1).max(200),
            description: z.string().trim().min(1).max(1000).optional(),
          })
          .strict(),
      )
      .optional(),
    kind: z.enum(["percent_off", "amount_off", "free_shipping", "gift", "points"]),
    value: z.number().min(0),
    cost: z.number().min(0),
    saveProbability: z.number().min(0).max(1),
    validDays: z.number().int().min(1).max(365).default(14),
    active: z.boolean().default(true),
  })
  .strict();

export type OfferInput = z.input<typeof offerInputSchema>;

export interface CatalogueOffer {
  id: number;
  key: string;
  title: string;
  description: string | null;
  translations: OfferTranslations;
  kind: string;
  value: number;
  cost: number;
  saveProbability: number;
  validDays: number;
  active: boolean;
}

/**
 * Adds an offer or updates the one with the same key.
 * @returns the stored offer, or `invalid` with one problem per line.
 */
export async function upsertOffer(
  db: Database,
  input: OfferInput,
): Promise<Result<CatalogueOffer, { type: "invalid"; problems: string[] }>> {
  const parsed = offerInputSchema.safeParse(input);
  if (!parsed.success)
    return err({
      type: "invalid",
      problems: parsed.error.issues.map((i) => `${i.path.join(".") || "offer"}: ${i.message}`),
    });
  // Languages not given keep what they had: an update with only `title` leaves the Russian one.
  const { key, translations, ...data } = parsed.data;
  const existing = await db.prisma.offer.findUnique({ where: { key }, select: { translations: true } });
  const merged: object = { ...readTranslations(existing?.translations), ...translations };
  const row = await db.prisma.offer.upsert({
    where: { key },
    create: { key, ...data, translations: merged },
    update: { ...data, translations: merged },
  });
  return ok(toOffer(row));
}

function toOffer(row: {
  id: number;
  key: string;
  title: string;
  description: string | null;
  translations: unknown;
  kind: string;
  value: unknown;
  cost: unknown;
  saveProbability: number;
  validDays: number;
  active: boolean;
}): CatalogueOffer {
  return {
    id: row.id,
    key: row.key,
    title: row.title,
    description: row.description,
    translations: readTranslations(row.translations),
    kind: row.kind,
    value: Number(row.value),
    cost: Number(row.cost),
    saveProbability: row.saveProbability,
    validDays: row.validDays,
    active: row.active,
  };
}

/** The whole catalogue, by key. */
export async function listOffers(db: Database): Promise<CatalogueOffer[]> {
  return (await db.prisma.offer.findMany({ orderBy: { key: "asc" } })).map(toOffer);
}
