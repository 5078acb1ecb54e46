// Column mapping and per-row validation for imported files. A header is matched to our
// fields by name (case, spaces, dashes, underscores and dots ignored) through a list of common
// aliases; `--map source=field` overrides win. Unknown customer columns become attributes.
import { DateTime } from "luxon";
import { z } from "zod";
import type { CustomerRow, PurchaseRow } from "./store";
import { headerKey, normalizeId } from "./values";

export const CUSTOMER_FIELDS = {
  externalId: [
    "external_id",
    "customer_id",
    "customer",
    "id",
    "client_id",
    "customer_no",
    "customer_number",
    "customer_user_id",
    "user_id",
    "код_клиента",
    "код_контрагента",
    "код",
    "id_клиента",
  ],
  name: ["name", "full_name", "customer_name", "fullname", "billing_name", "имя", "фио", "наименование", "контрагент"],
  email: ["email", "e_mail", "email_address", "mail", "billing_email", "customer_email", "электронная_почта", "почта"],
  phone: ["phone", "phone_number", "mobile", "telephone", "tel", "msisdn", "billing_phone", "телефон"],
  locale: ["locale", "language", "lang", "language_code", "язык"],
  timeZone: ["time_zone", "timezone", "tz", "часовой_пояс"],
  signedUpAt: [
    "signed_up_at",
    "signup_date",
    "signup",
    "registered_at",
    "registration_date",
    "created_at",
    "joined",
    "join_date",
    "customer_since",
    "дата_регистрации",
  ],
  marketingConsent: [
    "marketing_consent",
    "consent",
    "opt_in",
    "optin",
    "accepts_marketing",
    "accepts_email_marketing",
    "subscribed",
    "согласие_на_рассылку",
    "согласие",
  ],
} as const;

/**
 * Order and order-line columns, each with its names in order of preference. Covers the UCI
 * Online Retail layout, Shopify's and WooCommerce's order exports and Russian 1C / Bitrix headers.
 */
export const ORDER_FIELDS = {
  externalId: [
    "external_id",
    "order_id",
    "order_number",
    "order_no",
    "invoice_no",
    "invoice",
    "invoice_id",
    "invoice_number",
    "transaction_id",
    "номер_заказа",
    "номер_документа",
    "номер",
    "заказ",
    "name", // Shopify: "#1001"
    "id",
  ],
  customer: [
    "customer_id",
    "customer",
    "customer_external_id",
    "client_id",
    "customer_user_id",
    "user_id",
    "customer_no",
    "customer_number",
    "код_клиента",
    "код_контрагента",
    "id_клиента",
    "покупатель_код",
  ],
  customerEmail: [
    "email",
    "customer_email",
    "billing_email",
    "billing_email_address",
    "e_mail",
    "электронная_почта",
    "почта",
  ],
  customerName: ["контрагент", "покупатель", "клиент", "customer_name", "billing_name"],
  purchasedAt: [
    "purchased_at",
    "order_date",
    "invoice_date",
    "date",
    "created_at",
    "paid_at",
    "timestamp",
    "datetime",
    "time",
    "purchase_date",
    "дата",
    "дата_заказа",
    "дата_документа",
    "период",
  ],
  quantity: [
    "quantity",
    "qty",
    "lineitem_quantity",
    "quantity_(-_refund)",
    "items",
    "units",
    "cds",
    "количество",
    "кол_во",
  ],
  unitPrice: ["unit_price", "price", "lineitem_price", "item_cost", "item_price", "цена", "цена_за_единицу"],
  amount: [
    "amount",
    "line_total",
    "item_total",
    "total",
    "order_total",
    "order_total_amount",
    "sum",
    "sales",
    "revenue",
    "value",
    "dollars",
    "сумма",
    "сумма_документа",
    "итого",
  ],
  refundedAmount: [
    "refunded_amount",
    "refund_amount",
    "order_refund_amount",
    "amount_refunded",
    "refunded",
    "сумма_возврата",
  ],
  status: ["status", "order_status", "financial_status", "статус", "состояние"],
  cancelledAt: ["cancelled_at", "canceled_at", "cancellation_date", "дата_отмены"],
  product: [
    "stock_code",
    "sku",
    "lineitem_sku",
    "product_id",
    "item_id",
    "артикул",
    "номенклатура",
    "товар",
    "lineitem_name",
    "item_name",
    "product",
  ],
  grossMargin: ["gross_margin", "margin", "profit", "gross_profit", "маржа", "валовая_прибыль"],
  category: ["category", "product_category", "department", "product_type", "категория", "группа_товаров", "группа"],
} as const;

export type CustomerField = keyof typeof CUSTOMER_FIELDS;
export type OrderField = keyof typeof ORDER_FIELDS;

/** Longest accepted cell; longer ones reject the row (a 1 MB "name" is not a name). */
export const MAX_FIELD_LENGTH = 10_000;

const norm = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/[\s\-.]+/g, "_");

export interface ColumnPlan<F extends string> {
  /** Field -> column index in the header. */
  fields: Partial<Record<F, number>>;
  /** Columns kept as attributes: index -> attribute name. */
  extras: { index: number; name: string }[];
}

/**
 * Matches a header to fields. `overrides` maps source column names to field names.
 * @returns the plan, or the problems (unknown override column or field, required field missing).
 */
export function planColumns<F extends string>(
  header: string[],
  aliases: Record<F, readonly string[]>,
  overrides: Record<string, string>,
  required: F[],
): { ok: true; plan: ColumnPlan<F> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const keys = header.map(headerKey);
  const fields: Partial<Record<F, number>> = {};
  const used = new Set<number>();
  const fieldNames = Object.keys(aliases) as F[];
  for (const [source, field] of Object.entries(overrides)) {
    const index = keys.indexOf(headerKey(source));
    if (index < 0)
      problems.push(`--map ${source}=${field}: no column "${source}" in the header (${header.join(", ")})`);
    else if (!fieldNames.includes(field as F))
      problems.push(`--map ${source}=${field}: unknown field "${field}" (fields: ${fieldNames.join(", ")})`);
    else {
      fields[field as F] = index;
      used.add(index);
    }
  }
  // Each field takes its most preferred name present, fields in their listed order.
  for (const field of fieldNames) {
    if (fields[field] !== undefined) continue;
    for (const alias of aliases[field] as readonly string[]) {
      const index = keys.findIndex((k, i) => !used.has(i) && k === headerKey(alias));
      if (index >= 0) {
        fields[field] = index;
        used.add(index);
        break;
      }
    }
  }
  for (const field of required)
    if (fields[field] === undefined)
      problems.push(
        `no column for "${field}": expected one of ${aliases[field].join(", ")} (or --map COLUMN=${field})`,
      );
  const extras = header
    .map((name, index) => ({ index, name: norm(name) }))
    .filter((e) => !used.has(e.index) && e.name !== "");
  return problems.length ? { ok: false, problems } : { ok: true, plan: { fields, extras } };
}

// ISO-like dates without a zone: YYYY-MM-DD, YYYYMMDD, optionally "T" or " " and HH:mm[:ss[.SSS]].
const PLAIN_DATE = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;
const zoneCache = new Map<string, Date | null>();

/**
 * Parses a date or date-time: ISO 8601 (with or without offset), `YYYY-MM-DD HH:mm[:ss]`,
 * `YYYYMMDD`, or `format` (luxon tokens). Times without an offset are in `zone`.
 * Returns null for anything else, including impossible dates (2025-02-30).
 */
export function parseDate(text: string, zone: string, format?: string): Date | null {
  const s = text.trim();
  if (format) {
    const d = DateTime.fromFormat(s, format, { zone });
    return d.isValid ? d.toJSDate() : null;
  }
  // Imports repeat the same dates many times; luxon is the slow part, so parse plain
  // dates by hand and convert each distinct one to the zone once.
  const m = PLAIN_DATE.exec(s);
  if (m) {
    const [y, mo, d, h = "0", mi = "0", sec = "0", ms = "0"] = m.slice(1).map((v) => v ?? undefined) as string[];
    const utc = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +sec, +ms.padEnd(3, "0"));
    const check = new Date(utc);
    if (
      check.getUTCFullYear() !== +y! ||
      check.getUTCMonth() !== +mo! - 1 ||
      check.getUTCDate() !== +d! ||
      +h > 23 ||
      +mi > 59 ||
      +sec > 59
    )
      return null;
    if (zone === "UTC") return check;
    const key = `${zone}|${s}`;
    let hit = zoneCache.get(key);
    if (hit === undefined) {
      const local = DateTime.fromObject(
        { year: +y!, month: +mo!, day: +d!, hour: +h, minute: +mi, second: +sec, millisecond: +ms.padEnd(3, "0") },
        { zone },
      );
      hit = local.isValid ? local.toJSDate() : null;
      if (zoneCache.size > 100_000) zoneCache.clear();
      zoneCache.set(key, hit);
    }
    return hit;
  }
  const candidates = [DateTime.fromISO(s, { zone }), DateTime.fromSQL(s, { zone })];
  const hit = candidates.find((d) => d.isValid);
  return hit ? hit.toJSDate() : null;
}

const money = z
  .string()
  .trim()
  .min(1, "is empty")
  .refine((s) => /^-?\d+(\.\d+)?$/.test(s), "is not a number")
  .refine((s) => !s.startsWith("-"), "must not be negative")
  .refine((s) => Number(s) < 1e12, "is too large");

const orderSchema = z.object({
  customer: z.string().trim().min(1, "is empty"),
  amount: money,
  grossMargin: z
    .string()
    .trim()
    .refine((s) => /^-?\d+(\.\d+)?$/.test(s), "is not a number")
    .optional(),
  quantity: z.string().trim().regex(/^\d+$/, "must be a whole number >= 0").optional(),
  category: z.string().trim().optional(),
});

const email = z.string().trim().email("is not an email address");
const phone = z
  .string()
  .transform((s) => s.replace(/[\s().-]/g, ""))
  .refine((s) => /^\+?\d{7,15}$/.test(s), "is not a phone number (7-15 digits, optional leading +)");
const localeSchema = z
  .string()
  .trim()
  .regex(/^[a-zA-Z]{2,3}([-_][a-zA-Z]{2,4})?$/, "is not a language code such as en or ru-RU");

export type RowResult<T> = { ok: true; row: T } | { ok: false; reason: string };

/** Cells common checks: invalid UTF-8 (decoded as U+FFFD) and over-long values. */
function checkCells(header: string[], cells: string[]): string | null {
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i]!;
    if (cell.length > MAX_FIELD_LENGTH)
      return `column "${header[i]}" is ${cell.length} characters long (limit ${MAX_FIELD_LENGTH})`;
    if (cell.includes("\uFFFD")) return `column "${header[i]}" is not valid UTF-8`;
  }
  return null;
}

const cell = (cells: string[], index: number | undefined) => {
  if (index === undefined) return undefined;
  const v = cells[index]?.trim();
  return v === "" ? undefined : v;
};

/** A cell as an attribute value: numbers as numbers, true/false as booleans, text otherwise. */
export function attributeValue(text: string): string | number | boolean {
  // numbers as numbers, except codes with leading zeros ("01234") and long ids
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) && text.length < 16) return Number(text);
  const lower = text.toLowerCase();
  if (lower === "true" || lower === "false") return lower === "true";
  return text;
}

function parseBool(text: string): boolean | null {
  const t = text.trim().toLowerCase();
  if (["1", "true", "yes", "y", "on", "да"].includes(t)) return true;
  if (["0", "false", "no", "n", "off", "нет"].includes(t)) return false;
  return null;
}

const issue = (field: string, error: z.ZodError) => `${field} ${error.issues[0]?.message ?? "is invalid"}`;

export function customerFromCells(
  header: string[],
  cells: string[],
  plan: ColumnPlan<CustomerField>,
  options: { timeZone: string; dateFormat?: string },
): RowResult<CustomerRow> {
  if (cells.length !== header.length)
    return { ok: false, reason: `expected ${header.length} columns, found ${cells.length}` };
  const bad = checkCells(header, cells);
  if (bad) return { ok: false, reason: bad };
  const f = plan.fields;
  const rawId = cell(cells, f.externalId);
  if (!rawId) return { ok: false, reason: "customer id is empty" };
  const externalId = normalizeId(rawId);
  const row: CustomerRow = { externalId, attributes: {} };
  const name = cell(cells, f.name);
  if (f.name !== undefined) row.name = name ?? null;
  const rawEmail = cell(cells, f.email);
  if (rawEmail !== undefined) {
    const e = email.safeParse(rawEmail);
    if (!e.success) return { ok: false, reason: issue("email", e.error) };
    row.email = e.data.toLowerCase();
  }
  const rawPhone = cell(cells, f.phone);
  if (rawPhone !== undefined) {
    const p = phone.safeParse(rawPhone);
    if (!p.success) return { ok: false, reason: issue("phone", p.error) };
    row.phone = p.data;
  }
  const locale = cell(cells, f.locale);
  if (locale !== undefined) {
    const l = localeSchema.safeParse(locale);
    if (!l.success) return { ok: false, reason: issue("locale", l.error) };
    row.locale = l.data.slice(0, 2).toLowerCase();
  }
  const tz = cell(cells, f.timeZone);
  if (tz !== undefined) {
    if (!DateTime.now().setZone(tz).isValid) return { ok: false, reason: `time zone "${tz}" is not an IANA time zone` };
    row.timeZone = tz;
  }
  const signedUp = cell(cells, f.signedUpAt);
  if (signedUp !== undefined) {
    const d = parseDate(signedUp, options.timeZone, options.dateFormat);
    if (!d) return { ok: false, reason: `signup date "${signedUp.slice(0, 40)}" is not a date` };
    row.signedUpAt = d;
  }
  const consent = cell(cells, f.marketingConsent);
  if (consent !== undefined) {
    const b = parseBool(consent);
    if (b === null) return { ok: false, reason: `consent "${consent.slice(0, 20)}" is not yes/no` };
    row.marketingConsent = b;
  }
  for (const extra of plan.extras) {
    const v = cell(cells, extra.index);
    if (v !== undefined) row.attributes![extra.name] = attributeValue(v);
  }
  return { ok: true, row };
}

export interface OrderDraft extends Omit<PurchaseRow, "externalId"> {
  /** The file's own order id, when it has one. */
  externalId?: string;
}

export function orderFromCells(
  header: string[],
  cells: string[],
  plan: ColumnPlan<OrderField>,
  options: { timeZone: string; dateFormat?: string; now: Date },
): RowResult<OrderDraft> {
  if (cells.length !== header.length)
    return { ok: false, reason: `expected ${header.length} columns, found ${cells.length}` };
  const bad = checkCells(header, cells);
  if (bad) return { ok: false, reason: bad };
  const f = plan.fields;
  const parsed = orderSchema.safeParse({
    customer: cells[f.customer!] ?? "",
    amount: cells[f.amount!] ?? "",
    grossMargin: cell(cells, f.grossMargin),
    quantity: cell(cells, f.quantity),
    category: cell(cells, f.category),
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    return { ok: false, reason: `${String(first.path[0])} ${first.message}` };
  }
  const when = cell(cells, f.purchasedAt);
  if (!when) return { ok: false, reason: "date is empty" };
  const purchasedAt = parseDate(when, options.timeZone, options.dateFormat);
  if (!purchasedAt) return { ok: false, reason: `date "${when.slice(0, 40)}" is not a date` };
  if (purchasedAt.getTime() > options.now.getTime() + 86_400_000)
    return { ok: false, reason: `date ${when} is in the future` };
  const d = parsed.data;
  return {
    ok: true,
    row: {
      externalId: cell(cells, f.externalId),
      customerExternalId: d.customer,
      purchasedAt,
      amount: d.amount,
      grossMargin: d.grossMargin ?? null,
      quantity: d.quantity === undefined ? null : Number(d.quantity),
      category: d.category ?? null,
    },
  };
}
