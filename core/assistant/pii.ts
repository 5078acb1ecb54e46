// What personal data the assistant's model may see. Names, e-mails and phone numbers reach it
// only when the staff member's question names that customer; everything else is masked, and
// phone numbers or e-mails that customers typed into free text are scrubbed.

import { normalizePhone } from "../staff/customer-profile";

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
// Seven or more digits with the usual separators: phone numbers, card-like numbers.
const PHONE = /\+?\d[\d\s().-]{5,}\d/g;

/** Replaces e-mail addresses and phone-like digit runs in free text. */
export function scrubContacts(text: string): string {
  return text
    .replace(EMAIL, "[email hidden]")
    .replace(PHONE, (m) => (m.replace(/\D/g, "").length >= 7 ? "[phone hidden]" : m));
}

/** "Anna Petrova" -> "A. P."; null stays null. */
export function maskName(name: string | null): string | null {
  if (!name) return name;
  return name
    .split(/\s+/)
    .filter(Boolean)
    .map((part) => `${[...part][0]?.toUpperCase() ?? ""}.`)
    .join(" ");
}

// Words that, right before a short or numeric id, show the question means a customer and not a
// quantity ("customer 42", "client #7", "id 42", "клиент 42").
const ID_CUE = String.raw`(?:customer|client|id|no\.?|number|#|клиент\p{L}*|покупател\p{L}*|номер)`;

/** Ids of at most this many characters, or only digits, need a cue word before them. */
const SHORT_ID_CHARS = 3;

/**
 * True when the question identifies this customer by their full external id, e-mail or phone
 * number; only then may the model see the customer's personal data. A name never unmasks (two
 * customers share names, and a short name is a common word). An id that is only digits or at
 * most 3 characters ("42", "A7") counts only after a cue word ("customer 42", "#42", "id 42"),
 * so "bought in the last 42 days" names nobody.
 */
export function questionNamesCustomer(
  question: string,
  customer: { externalId: string; email: string | null; phone: string | null },
): boolean {
  const q = question.toLowerCase();
  const id = customer.externalId.trim().toLowerCase();
  if (id) {
    const token = `${escapeRegExp(id)}(?![\\p{L}\\p{N}]|[-_.][\\p{L}\\p{N}])`;
    const needsCue = /^\d+$/.test(id) || [...id].length <= SHORT_ID_CHARS;
    const pattern = needsCue ? `(^|[^\\p{L}\\p{N}])${ID_CUE}\\s*[:#№]?\\s*${token}` : `(^|[^\\p{L}\\p{N}_-])${token}`;
    if (new RegExp(pattern, "u").test(q)) return true;
  }
  if (customer.email) {
    const emails = question.match(EMAIL) ?? [];
    if (emails.some((e) => e.toLowerCase() === customer.email!.trim().toLowerCase())) return true;
  }
  if (customer.phone) {
    const digits = normalizePhone(customer.phone).replace("+", "");
    const inQuestion = (question.match(/\+?\d[\d\s().-]{5,}\d/g) ?? []).map((m) => m.replace(/\D/g, ""));
    if (digits.length >= 7 && inQuestion.includes(digits)) return true;
  }
  return false;
}

/** Every Date in a value cut to its day ("2026-11-20"): the model needs no more than that. */
export function datesToDays<T>(value: T): T {
  if (value instanceof Date) return value.toISOString().slice(0, 10) as T;
  if (Array.isArray(value)) return value.map(datesToDays) as T;
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, datesToDays(v)])) as T;
  return value;
}

/** Only the allowed attributes (ASSISTANT_ATTRIBUTES) of a customer's free-form ones. */
export function allowedAttributes(attributes: Record<string, unknown>, allowed: readonly string[]) {
  const keep = new Set(allowed.map((a) => a.toLowerCase()));
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => keep.has(k.toLowerCase())));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
