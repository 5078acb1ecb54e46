// From an orders export's rows to what the store keeps: purchases of known customers, refunds
// (cancellations, returns, refunded amounts) and anonymous sales. One row per order or one row per
// product line, detected from repeated order ids (or forced); lines are grouped into orders with
// amount = sum of quantity x unit price (or of the line totals). Everything here is pure: the
// importer writes the result.
import { MAX_FIELD_LENGTH, ORDER_FIELDS, planColumns, type ColumnPlan, type OrderField } from "./fields";
import type { Table } from "./decode";
import type { AnonymousSaleRow, PurchaseRow, RefundRow } from "./store";
import {
  inferDateLayout,
  inferDecimalMark,
  normalizeId,
  parseNumber,
  readDate,
  type DateLayout,
  type DecimalMark,
} from "./values";

export type OrderShape = "lines" | "orders";

export interface OrdersOptions {
  map?: Record<string, string>;
  /** A luxon format that overrides the inferred date layout. */
  dateFormat?: string;
  /** Forces one row per product (`lines`) or one row per order (`orders`). */
  shape?: OrderShape;
  timeZone: string;
  now: Date;
}

export interface LineError {
  line: number;
  reason: string;
}

export interface PreparedPurchase extends PurchaseRow {
  /** File lines the order came from (all of them are rejected with it). */
  fileLines: number[];
}
export interface PreparedRefund extends RefundRow {
  fileLines: number[];
}

export interface PreparedOrders {
  shape: OrderShape;
  shapeReason: string;
  /** Field -> the file's column name. */
  mapping: Partial<Record<OrderField, string>>;
  dateLayout: DateLayout;
  decimalMark: DecimalMark;
  rows: number;
  purchases: PreparedPurchase[];
  refunds: PreparedRefund[];
  anonymousSales: (AnonymousSaleRow & { fileLines: number[] })[];
  errors: LineError[];
}

/** A file whose columns or dates can't be read as a whole: nothing is imported. */
export class OrdersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OrdersFileError";
  }
}

// Statuses that mean the order did not stand (Shopify, WooCommerce, 1C/Bitrix words); "partially
// refunded" is not one: its refunded amount column says how much.
const CANCELLED_STATUS = /^(cancel+ed|void(ed)?|refunded|returned|failed|отмен|аннулир|возврат)/i;

/** One checked row of an orders file. */
export interface OrderLine {
  line: number;
  orderId?: string;
  customer?: string;
  at: Date;
  /** Signed line amount in 1/10,000 of the currency unit. */
  amount: number;
  quantity: number;
  refund: boolean;
  cancelled: boolean;
  refunded: number;
  margin: number | null;
  product?: string;
  category?: string;
}
type Line = OrderLine;

/** Money units per currency unit in {@link OrderLine} amounts. */
export const E4 = 10_000;
const money = (e4: number) => (Math.round(Math.abs(e4) / 100) / 100).toFixed(2);

/**
 * Matches an orders file's header to the order fields. Throws OrdersFileError when a date,
 * customer or amount column is missing.
 */
export function planOrderColumns(
  header: string[],
  map: Record<string, string> = {},
): { plan: ColumnPlan<OrderField>; mapping: Partial<Record<OrderField, string>> } {
  const planned = planColumns(header, ORDER_FIELDS, map, ["purchasedAt"]);
  if (!planned.ok) throw new OrdersFileError(columnsProblem(planned.problems));
  const plan: ColumnPlan<OrderField> = planned.plan;
  const f = plan.fields;
  const problems: string[] = [];
  if (f.customer === undefined && f.customerEmail === undefined && f.customerName === undefined)
    problems.push(
      `no customer column: expected one of ${[...ORDER_FIELDS.customer, ...ORDER_FIELDS.customerEmail].join(", ")} (or --map COLUMN=customer)`,
    );
  if (f.amount === undefined && f.unitPrice === undefined)
    problems.push(
      `no amount column: expected one of ${ORDER_FIELDS.amount.join(", ")}, or a quantity and a unit price (or --map COLUMN=amount)`,
    );
  if (problems.length) throw new OrdersFileError(columnsProblem(problems));
  const mapping = Object.fromEntries(
    Object.entries(f).map(([field, index]) => [field, header[index as number]!]),
  ) as Partial<Record<OrderField, string>>;
  return { plan, mapping };
}

/** The columns whose values decide the decimal mark. */
export const NUMBER_FIELDS: readonly OrderField[] = ["amount", "unitPrice", "refundedAmount", "grossMargin"];

const NUMBER_LABELS = [
  ["quantity", "quantity"],
  ["unitPrice", "unit price"],
  ["amount", "amount"],
  ["refundedAmount", "refunded amount"],
  ["grossMargin", "gross margin"],
] as const;

/**
 * Checks one row of an orders file read with a known date layout and decimal mark: returns the
 * line, or the reason it is rejected.
 */
export function checkOrderLine(
  header: string[],
  plan: ColumnPlan<OrderField>,
  read: { dateLayout: DateLayout; decimalMark: DecimalMark; timeZone: string; now: Date },
  line: number,
  cells: string[],
  isLast: boolean,
): OrderLine | string {
  const f = plan.fields;
  if (cells.length !== header.length)
    return isLast && cells.length < header.length
      ? `the last line is cut short (${cells.length} of ${header.length} columns): the file ends mid-row`
      : `expected ${header.length} columns, found ${cells.length}`;
  for (let i = 0; i < cells.length; i++)
    if (cells[i]!.length > MAX_FIELD_LENGTH)
      return `column "${header[i]}" is ${cells[i]!.length} characters long (limit ${MAX_FIELD_LENGTH})`;
  const when = cell(cells, f.purchasedAt);
  if (!when) return "date is empty";
  const at = readDate(when, read.dateLayout, read.timeZone, read.now);
  if (!at) return `date "${when.slice(0, 40)}" is not a date as ${read.dateLayout.format}`;
  if (at.getTime() > read.now.getTime() + 86_400_000) return `date ${when.slice(0, 40)} is in the future`;
  const numbers: Partial<Record<OrderField, number | null>> = {};
  for (const [field, label] of NUMBER_LABELS) {
    const text = cell(cells, f[field]);
    if (text === undefined) {
      numbers[field] = null;
      continue;
    }
    const n = parseNumber(text, read.decimalMark);
    if (n === null || Math.abs(n) >= 1e12) return `${label} "${text.slice(0, 40)}" is not a number`;
    numbers[field] = n;
  }
  const {
    quantity = null,
    unitPrice: price = null,
    amount = null,
    refundedAmount = null,
    grossMargin: margin = null,
  } = numbers;
  let lineAmount: number;
  if (quantity !== null && price !== null) lineAmount = Math.round(quantity * price * E4);
  else if (amount !== null) lineAmount = Math.round(amount * E4);
  else if (price !== null) lineAmount = Math.round(price * E4);
  else return "amount is empty";
  const rawOrderId = cell(cells, f.externalId);
  const orderId = rawOrderId === undefined ? undefined : normalizeId(rawOrderId);
  const customerId = cell(cells, f.customer);
  const email = cell(cells, f.customerEmail)?.toLowerCase();
  const name = cell(cells, f.customerName);
  const customer = customerId !== undefined ? normalizeId(customerId) : (email ?? name);
  const status = cell(cells, f.status);
  const q = quantity ?? 1;
  const refund = (orderId !== undefined && /^C\d/i.test(orderId)) || lineAmount < 0 || q < 0;
  return {
    line,
    orderId,
    customer,
    at,
    amount: lineAmount,
    quantity: q,
    refund,
    cancelled: (status !== undefined && CANCELLED_STATUS.test(status)) || cell(cells, f.cancelledAt) !== undefined,
    refunded: refundedAmount === null ? 0 : Math.round(Math.abs(refundedAmount) * E4),
    margin: margin === null ? null : Math.round(margin * E4),
    product: cell(cells, f.product),
    category: cell(cells, f.category),
  };
}

function cell(cells: string[], index: number | undefined): string | undefined {
  if (index === undefined) return undefined;
  const v = cells[index]?.trim();
  return v ? v : undefined;
}

/**
 * The key a line's order is stored under: its order id; `ID:return` for a returned line of an
 * order whose id has no "C" prefix; for a file without order ids, a key made of the row itself
 * (`numbered`: the caller appends the how-manieth identical row it is, so importing the same file
 * again finds the same keys).
 */
export function orderLineKey(l: OrderLine): { key: string; numbered: boolean } {
  if (l.orderId === undefined)
    return { key: `row:${l.customer ?? ""}:${l.at.toISOString()}:${l.amount / E4}`, numbered: true };
  if (l.refund && !/^C\d/i.test(l.orderId)) return { key: `${l.orderId}:return`, numbered: false };
  return { key: l.orderId, numbered: false };
}

/**
 * Reads, checks and groups an orders table. Throws OrdersFileError when the columns don't fit or
 * the dates are ambiguous (with the option that resolves it); bad rows are returned as errors.
 */
export function prepareOrders(table: Table, options: OrdersOptions): PreparedOrders {
  const { header } = table;
  const { plan, mapping } = planOrderColumns(header, options.map);
  const f = plan.fields;

  const column = (index: number | undefined) =>
    index === undefined ? [] : table.records.map((r) => r.cells[index] ?? "");
  let dateLayout: DateLayout;
  if (options.dateFormat)
    dateLayout = { kind: "format", format: options.dateFormat, reason: "given with --date-format" };
  else {
    const inferred = inferDateLayout(column(f.purchasedAt));
    if (!inferred.ok) throw new OrdersFileError(inferred.problem);
    dateLayout = inferred.layout;
  }
  const decimalMark = inferDecimalMark(NUMBER_FIELDS.flatMap((field) => column(f[field])));

  const errors: LineError[] = [];
  const lines: Line[] = [];
  const last = table.records.at(-1);
  const read = { dateLayout, decimalMark, timeZone: options.timeZone, now: options.now };
  for (const record of table.records) {
    const checked = checkOrderLine(header, plan, read, record.line, record.cells, record === last);
    if (typeof checked === "string") errors.push({ line: record.line, reason: checked });
    else lines.push(checked);
  }

  // The shape: a repeated order id means one row per product.
  let shape: OrderShape;
  let shapeReason: string;
  const ids = lines.filter((l) => l.orderId !== undefined);
  const distinct = new Set(ids.map((l) => l.orderId)).size;
  if (options.shape) {
    shape = options.shape;
    shapeReason = `given with --${shape}`;
  } else if (f.externalId === undefined) {
    shape = "orders";
    shapeReason = "no order id column: each row is one order";
  } else if (distinct < ids.length) {
    shape = "lines";
    shapeReason = `${ids.length.toLocaleString("en")} rows carry ${distinct.toLocaleString("en")} order ids: one row per product, grouped into orders`;
  } else {
    shape = "orders";
    shapeReason = "every order id is on one row: each row is one order";
  }

  interface Group {
    key: string;
    refund: boolean;
    customer?: string;
    at: Date;
    amount: number;
    quantity: number;
    refunded: number;
    cancelled: boolean;
    margin: number | null;
    products: Set<string>;
    categories: Map<string, number>;
    fileLines: number[];
  }
  const groups = new Map<string, Group>();
  const occurrences = new Map<string, number>();
  for (const l of lines) {
    let { key } = orderLineKey(l);
    if (l.orderId === undefined) {
      const n = (occurrences.get(key) ?? 0) + 1;
      occurrences.set(key, n);
      key = `${key}:${n}`;
    }
    let g = groups.get(key);
    if (g && shape === "orders") {
      errors.push({
        line: l.line,
        reason: `duplicate order id "${key.slice(0, 60)}" (first on line ${g.fileLines[0]})`,
      });
      continue;
    }
    if (g && l.customer !== undefined && g.customer !== undefined && g.customer !== l.customer) {
      errors.push({
        line: l.line,
        reason: `order "${key.slice(0, 60)}" is for customer "${g.customer.slice(0, 40)}" on line ${g.fileLines[0]}, not "${l.customer.slice(0, 40)}"`,
      });
      continue;
    }
    if (!g) {
      g = {
        key,
        refund: l.refund,
        customer: l.customer,
        at: l.at,
        amount: 0,
        quantity: 0,
        refunded: 0,
        cancelled: false,
        margin: null,
        products: new Set(),
        categories: new Map(),
        fileLines: [],
      };
      groups.set(key, g);
    }
    g.customer ??= l.customer;
    if (l.at < g.at) g.at = l.at;
    g.amount += l.amount;
    g.quantity += Math.abs(l.quantity);
    g.refunded = Math.max(g.refunded, l.refunded); // an order-level column, on one or every line
    g.cancelled ||= l.cancelled;
    if (l.margin !== null) g.margin = (g.margin ?? 0) + l.margin;
    if (l.product) g.products.add(l.product);
    if (l.category) g.categories.set(l.category, (g.categories.get(l.category) ?? 0) + 1);
    g.fileLines.push(l.line);
  }

  const purchases: PreparedPurchase[] = [];
  const refunds: PreparedRefund[] = [];
  const anonymousSales: PreparedOrders["anonymousSales"] = [];
  const salesByCustomer = new Map<string, Group[]>();
  const topCategory = (g: Group) =>
    g.categories.size ? [...g.categories.entries()].sort((a, b) => b[1] - a[1])[0]![0] : null;
  for (const g of groups.values()) {
    if (g.refund) continue;
    if (g.customer !== undefined) {
      purchases.push({
        externalId: g.key,
        customerExternalId: g.customer,
        purchasedAt: g.at,
        amount: money(g.amount),
        grossMargin: g.margin === null ? null : (g.margin < 0 ? "-" : "") + money(g.margin),
        quantity: Math.round(g.quantity),
        category: topCategory(g),
        lines: g.fileLines.length,
        fileLines: g.fileLines,
      });
      const list = salesByCustomer.get(g.customer) ?? [];
      list.push(g);
      salesByCustomer.set(g.customer, list);
    } else
      anonymousSales.push({
        externalId: g.key,
        soldAt: g.at,
        amount: money(g.amount),
        quantity: Math.round(g.quantity),
        lines: g.fileLines.length,
        category: topCategory(g),
        fileLines: g.fileLines,
      });
    // A cancelled order counts as sold and refunded in full; a refunded amount as a refund of it.
    const refunded = g.cancelled ? g.amount : Math.min(g.refunded, g.amount);
    if (refunded > 0)
      refunds.push({
        externalId: `${g.key}:${g.cancelled ? "cancelled" : "refund"}`,
        customerExternalId: g.customer ?? null,
        orderExternalId: g.key,
        refundedAt: g.at,
        amount: money(refunded),
        quantity: g.cancelled ? Math.round(g.quantity) : 0,
        fileLines: g.fileLines,
      });
  }
  for (const g of groups.values()) {
    if (!g.refund) continue;
    refunds.push({
      externalId: g.key,
      customerExternalId: g.customer ?? null,
      orderExternalId: originalOrder(g, groups, salesByCustomer),
      refundedAt: g.at,
      amount: money(g.amount),
      quantity: Math.round(g.quantity),
      fileLines: g.fileLines,
    });
  }
  errors.sort((a, b) => a.line - b.line);
  return {
    shape,
    shapeReason,
    mapping,
    dateLayout,
    decimalMark,
    rows: table.records.length,
    purchases,
    refunds,
    anonymousSales,
    errors,
  };

  // The order a refund gives money back on, where it can be told: the id without its "C" prefix,
  // the order its returned lines came from, or else the customer's latest order before it with one
  // of the same products.
  function originalOrder(g: Group, all: Map<string, Group>, byCustomer: Map<string, Group[]>): string | null {
    const candidates = [g.key.replace(/^C(?=\d)/i, ""), g.key.replace(/:return$/, "")];
    for (const id of candidates) {
      const o = id !== g.key ? all.get(id) : undefined;
      if (o && !o.refund && o.customer === g.customer) return o.key;
    }
    if (g.customer === undefined || g.products.size === 0) return null;
    let best: Group | null = null;
    for (const o of byCustomer.get(g.customer) ?? [])
      if (o.at <= g.at && (!best || o.at > best.at) && [...g.products].some((p) => o.products.has(p))) best = o;
    return best?.key ?? null;
  }
}

function columnsProblem(problems: string[]): string {
  return `the columns don't fit:\n${problems.map((p) => `  - ${p}`).join("\n")}`;
}
