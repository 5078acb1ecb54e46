// Reading the values real exports carry: money with decimal commas, thousands separators and
// currency signs; ids a spreadsheet turned into "17850.0"; and dates whose layout (day-first or
// month-first, two-digit years, times) is inferred from the whole column, not guessed per row.
import { DateTime } from "luxon";

/** A header or alias reduced to letters and digits: "Customer ID", "customer_id", "Customer-Id." all match. */
export const headerKey = (s: string): string =>
  s
    .trim()
    .toLowerCase()
    .replace(/[\s_\-.'"()/#№]+/g, "");

/** "17850.0" -> "17850" (a numeric id that went through a spreadsheet); other ids are trimmed. */
export function normalizeId(text: string): string {
  const s = text.trim();
  const m = /^(\d+)\.0+$/.exec(s);
  return m ? m[1]! : s;
}

/** Which character separates decimals in a file's numbers. */
export type DecimalMark = "." | ",";

/**
 * Decides the decimal mark from a column's values: a comma followed by one, two or four-plus
 * digits at the end ("2,55") is a decimal comma; a dot so placed ("2.55") a decimal dot. Three
 * digits after the only separator ("1,250") say nothing, and the dot wins a tie.
 */
export function inferDecimalMark(values: Iterable<string>): DecimalMark {
  const votes = new DecimalMarkVotes();
  for (const value of values) votes.add(value);
  return votes.result();
}

/** {@link inferDecimalMark} one value at a time, for files read as a stream. */
export class DecimalMarkVotes {
  private comma = 0;
  private dot = 0;

  add(raw: string): void {
    // Nearly every value is digits with one mark at most: read as it is, nothing to drop.
    const plain = PLAIN_DECIMAL.exec(raw);
    let m: RegExpExecArray | null = plain;
    let both = false;
    if (!plain) {
      const s = raw.replace(/[^\d.,]/g, "");
      m = /([.,])(\d+)$/.exec(s);
      both = s.includes(".") && s.includes(",");
    }
    if (!m || m[1] === undefined) return;
    if (!both && m[2]!.length === 3) return;
    if (m[1] === ",") this.comma++;
    else this.dot++;
  }

  result(): DecimalMark {
    return this.comma > this.dot ? "," : ".";
  }

  /** Whether the values so far are unanimous, with at least 100 votes. */
  settled(): boolean {
    return (this.comma === 0) !== (this.dot === 0) && this.comma + this.dot >= 100;
  }
}

// Digits with one decimal mark at most (its digits captured), and nothing else.
const PLAIN_DECIMAL = /^\d*(?:([.,])(\d+))?$/;
const PLAIN_DOT = /^\d+(?:\.\d+)?$/;
const PLAIN_COMMA = /^\d+(?:,\d+)?$/;

/**
 * A number from an export cell: currency signs and codes, spaces and thousands separators are
 * dropped; "(12.50)" and a trailing minus are negative. Returns null when no number is there.
 */
export function parseNumber(text: string, mark: DecimalMark): number | null {
  // Nearly every cell: digits and the file's decimal mark, nothing to drop or to read twice.
  if (mark === "." ? PLAIN_DOT.test(text) : PLAIN_COMMA.test(text)) {
    const n = Number(mark === "." ? text : text.replace(",", "."));
    return Number.isFinite(n) ? n : null;
  }
  let s = text.trim();
  if (s === "") return null;
  let negative = false;
  if (/^\(.*\)$/.test(s)) {
    negative = true;
    s = s.slice(1, -1);
  }
  // currency signs and codes (£, $, €, ₽, руб., RUB, USD...), spaces of any kind, apostrophes
  s = s.replace(/[\s\u00a0\u202f'’]/g, "").replace(/[^\d.,+-]/g, "");
  if (s.endsWith("-")) {
    negative = !negative;
    s = s.slice(0, -1);
  }
  if (s.startsWith("-")) {
    negative = !negative;
    s = s.slice(1);
  } else if (s.startsWith("+")) s = s.slice(1);
  if (s.includes(".") && s.includes(",")) {
    // both: the last one is the decimal mark
    s = s.lastIndexOf(",") > s.lastIndexOf(".") ? s.replace(/\./g, "").replace(",", ".") : s.replace(/,/g, "");
  } else if (mark === ",") s = s.replace(/\.(?=\d{3}(\D|$))/g, "").replace(",", ".");
  else s = s.replace(/,(?=\d{3}(\D|$))/g, "");
  if (!/^\d+(\.\d+)?$/.test(s) && !/^\.\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? (negative ? -n : n) : null;
}

/** How a date column is read, and why, for the import summary. */
export interface DateLayout {
  kind: "iso" | "dmy" | "mdy" | "ymd" | "format";
  /** A luxon-style description, e.g. "M/d/yy H:mm", usable as --date-format. */
  format: string;
  reason: string;
}

export type DateLayoutResult = { ok: true; layout: DateLayout } | { ok: false; problem: string };

// 1/12/10, 01.12.2010 14:30, 12-01-2010 8:26:00 PM
const NUMERIC = /^(\d{1,2})([./-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$/;
// 2010/12/01, 2010.12.01 (ISO with dashes is handled by the ISO reader)
const YMD = /^(\d{4})([./])(\d{1,2})\2(\d{1,2})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const ISO_LIKE = /^\d{4}-?\d{2}-?\d{2}/;

/**
 * Infers how a column of dates is written. Day-first or month-first is settled by a first or
 * second part over 12; when no value has one, by the order of the rows: an export runs through
 * time, so the reading whose successive dates lie closer together (days rather than months) is
 * the one meant, if it is at least four times closer. Otherwise the file is ambiguous and the
 * problem names the two --date-format values to choose from.
 */
export function inferDateLayout(values: string[]): DateLayoutResult {
  const inference = new DateLayoutInference();
  for (const value of values) inference.add(value);
  return inference.result();
}

/**
 * {@link inferDateLayout} one value at a time, in file order, for files read as a stream: it
 * keeps counts and running sums, never the values.
 */
export class DateLayoutInference {
  private firstValue: string | null = null;
  private first: RegExpExecArray | null = null;
  private numericCount = 0;
  private firstYmd: RegExpExecArray | null = null;
  private isoCount = 0;
  private aOver12 = 0;
  private bOver12 = 0;
  private readonly dayFirst = { total: 0, distinct: 0, previous: null as number | null };
  private readonly monthFirst = { total: 0, distinct: 0, previous: null as number | null };

  add(value: string): void {
    const v = value.trim();
    if (v === "") return;
    this.firstValue ??= v;
    const m = NUMERIC.exec(v);
    if (!m) {
      if (this.numericCount === 0) {
        if (!this.firstYmd) this.firstYmd = YMD.exec(v);
        if (ISO_LIKE.test(v)) this.isoCount++;
      }
      return;
    }
    this.numericCount++;
    this.first ??= m;
    const a = +m[1]!;
    const b = +m[3]!;
    if (a > 12) this.aOver12++;
    if (b > 12) this.bOver12++;
    const year = +m[4]!;
    step(this.dayFirst, Date.UTC(year, b - 1, a));
    step(this.monthFirst, Date.UTC(year, a - 1, b));
  }

  /**
   * Whether the values so far decide the layout without a doubt of their own: all ISO or year
   * first, or numeric with a part over 12 on one side only.
   */
  settled(): boolean {
    if (this.numericCount === 0) return this.isoCount > 0 || this.firstYmd !== null;
    return this.aOver12 > 0 !== this.bOver12 > 0;
  }

  result(): DateLayoutResult {
    if (this.firstValue === null) return { ok: true, layout: { kind: "iso", format: "ISO 8601", reason: "no dates" } };
    const first = this.first;
    if (!first) {
      if (this.firstYmd) {
        const m = this.firstYmd;
        return {
          ok: true,
          layout: { kind: "ymd", format: `yyyy${m[2]}M${m[2]}d${m[5] ? " H:mm" : ""}`, reason: "year first" },
        };
      }
      return {
        ok: true,
        layout: { kind: "iso", format: "ISO 8601 (yyyy-MM-dd)", reason: `${this.isoCount} ISO dates` },
      };
    }
    const sep = first[2]!;
    const yearDigits = first[4]!.length;
    const time = first[5] !== undefined ? (first[8] ? " h:mm a" : first[7] !== undefined ? " H:mm:ss" : " H:mm") : "";
    const y = yearDigits === 2 ? "yy" : "yyyy";
    const dmyFormat = `d${sep}M${sep}${y}${time}`;
    const mdyFormat = `M${sep}d${sep}${y}${time}`;
    const sample = this.firstValue;
    if (this.aOver12 && this.bOver12)
      return {
        ok: false,
        problem: `the dates mix day-first and month-first values (e.g. "${sample}"): give --date-format ${dmyFormat} or --date-format ${mdyFormat}`,
      };
    if (this.aOver12)
      return { ok: true, layout: { kind: "dmy", format: dmyFormat, reason: "day first: a first part is over 12" } };
    if (this.bOver12)
      return { ok: true, layout: { kind: "mdy", format: mdyFormat, reason: "month first: a second part is over 12" } };
    // No part over 12: the sequence read both ways.
    const dmy = this.dayFirst;
    const mdy = this.monthFirst;
    if (dmy.distinct >= 2 && mdy.total * 4 <= dmy.total)
      return {
        ok: true,
        layout: {
          kind: "mdy",
          format: mdyFormat,
          reason: "month first: no part is over 12, but read month-first the rows run day by day",
        },
      };
    if (mdy.distinct >= 2 && dmy.total * 4 <= mdy.total)
      return {
        ok: true,
        layout: {
          kind: "dmy",
          format: dmyFormat,
          reason: "day first: no part is over 12, but read day-first the rows run day by day",
        },
      };
    if (sep === ".")
      return {
        ok: true,
        layout: { kind: "dmy", format: dmyFormat, reason: "day first: dates with dots are written day first" },
      };
    return {
      ok: false,
      problem: `the dates could be day-first or month-first (no part is over 12, e.g. "${sample}"): give --date-format ${dmyFormat} or --date-format ${mdyFormat}`,
    };
  }
}

// How far apart successive dates lie when read one way (a sum of gaps between distinct dates).
function step(spread: { total: number; distinct: number; previous: number | null }, t: number): void {
  if (spread.previous !== null && t !== spread.previous) {
    spread.total += Math.abs(t - spread.previous);
    spread.distinct++;
  }
  spread.previous = t;
}

const zoned = new Map<string, Date | null>();

/** Reads one date as the layout says; times without an offset are in `zone`. Null when it isn't one. */
export function readDate(text: string, layout: DateLayout, zone: string, now: Date): Date | null {
  const s = text.trim();
  if (layout.kind === "format") {
    const d = DateTime.fromFormat(s, layout.format, { zone });
    return d.isValid ? d.toJSDate() : null;
  }
  const key = `${layout.kind}|${zone}|${s}`;
  const hit = zoned.get(key);
  if (hit !== undefined) return hit;
  let result: Date | null = null;
  const m = NUMERIC.exec(s);
  const ymd = YMD.exec(s);
  if (m && (layout.kind === "dmy" || layout.kind === "mdy")) {
    const a = +m[1]!;
    const b = +m[3]!;
    const day = layout.kind === "dmy" ? a : b;
    const month = layout.kind === "dmy" ? b : a;
    let year = +m[4]!;
    if (m[4]!.length === 2) {
      // two-digit years: this century unless that is more than a year ahead
      const century = Math.floor(now.getUTCFullYear() / 100) * 100;
      year += year + century > now.getUTCFullYear() + 1 ? century - 100 : century;
    }
    let hour = m[5] === undefined ? 0 : +m[5];
    if (m[8]) {
      if (hour < 1 || hour > 12) return null;
      hour = (hour % 12) + (m[8].toLowerCase() === "pm" ? 12 : 0);
    }
    result = fromParts(year, month, day, hour, m[6] === undefined ? 0 : +m[6], m[7] === undefined ? 0 : +m[7], zone);
  } else if (ymd) {
    result = fromParts(
      +ymd[1]!,
      +ymd[3]!,
      +ymd[4]!,
      ymd[5] === undefined ? 0 : +ymd[5],
      ymd[6] === undefined ? 0 : +ymd[6],
      ymd[7] === undefined ? 0 : +ymd[7],
      zone,
    );
  } else result = readIso(s, zone);
  if (zoned.size > 200_000) zoned.clear();
  zoned.set(key, result);
  return result;
}

function fromParts(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string,
) {
  const d = DateTime.fromObject({ year, month, day, hour, minute, second }, { zone });
  return d.isValid ? d.toJSDate() : null;
}

// ISO 8601, SQL style, YYYYMMDD, and Shopify's "2024-01-15 10:23:45 -0500".
function readIso(s: string, zone: string): Date | null {
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (compact) return fromParts(+compact[1]!, +compact[2]!, +compact[3]!, 0, 0, 0, zone);
  const offset = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}):?(\d{2})$/.exec(s);
  if (offset) {
    const d = DateTime.fromISO(`${offset[1]}T${offset[2]}${offset[3]}:${offset[4]}`, { zone });
    return d.isValid ? d.toJSDate() : null;
  }
  for (const d of [DateTime.fromISO(s, { zone }), DateTime.fromSQL(s, { zone })]) if (d.isValid) return d.toJSDate();
  return null;
}
