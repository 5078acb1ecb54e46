// Phone numbers in one form, E.164 ("+79120001122"), wherever they are compared: at import and when
// a customer shares their contact on Telegram. libphonenumber-js knows every country's trunk
// prefixes and lengths, so "8 (912) 000-11-22" (Russia, national form) and Telegram's
// "79120001122" (international, no plus) are the same number.
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js";

export type PhoneRegion = CountryCode;

export interface ParsedPhone {
  /** E.164: "+79120001122". */
  e164: string;
  /** The national significant number: "9120001122". */
  national: string;
}

/**
 * Parses a phone number as written in a shop's export or shared by Telegram. A number without a
 * country code is read in `defaultRegion` (e.g. "RU", "GB"); without one, only international
 * numbers parse.
 * @returns null when the text is not a valid phone number (the caller reports it).
 */
export function parsePhone(raw: string, defaultRegion?: PhoneRegion): ParsedPhone | null {
  const text = raw.trim();
  if (!/\d/.test(text)) return null;
  const attempts = [
    () => parsePhoneNumberFromString(text, defaultRegion ? { defaultCountry: defaultRegion } : undefined),
    // Telegram sends international numbers without the plus: "79120001122".
    () => (/^\d{8,15}$/.test(text) ? parsePhoneNumberFromString(`+${text}`) : undefined),
  ];
  const parsed = attempts.map((attempt) => attempt()).find((p) => p?.isValid());
  if (!parsed) return null;
  return { e164: parsed.number, national: parsed.nationalNumber };
}

/**
 * The E.164 form of a phone number, or null when it cannot be parsed.
 * For the importer: `normalisePhone(row.phone, config.linking.phoneRegion)`.
 */
export function normalisePhone(raw: string, defaultRegion?: PhoneRegion): string | null {
  return parsePhone(raw, defaultRegion)?.e164 ?? null;
}
