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

/**
 * True when the question names this customer: their external id, e-mail, phone number or full
 * name appears in it. Only then may the model see the customer's personal data.
 */
export function questionNamesCustomer(
  question: string,
  customer: { externalId: string; name: string | null; email: string | null; phone: string | null },
): boolean {
  const q = question.toLowerCase();
  if (
    customer.externalId &&
    new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(customer.externalId.toLowerCase())}($|[^\\p{L}\\p{N}])`, "u").test(q)
  )
    return true;
  if (customer.email && q.includes(customer.email.toLowerCase())) return true;
  if (customer.name && customer.name.trim().length >= 3 && q.includes(customer.name.trim().toLowerCase())) return true;
  if (customer.phone) {
    const digits = normalizePhone(customer.phone).replace("+", "");
    const inQuestion = (question.match(/\+?\d[\d\s().-]{5,}\d/g) ?? []).map((m) => m.replace(/\D/g, ""));
    if (digits.length >= 7 && inQuestion.includes(digits)) return true;
  }
  return false;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
