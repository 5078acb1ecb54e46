import { err, ok, type Result } from "../result";
import { parseIsoDay } from "./arguments";

/** A half-open period `[from, to)` with a label staff can read. */
export interface Period {
  from: Date;
  to: Date;
  label: string;
}

const DAY = 86_400_000;

function utcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Reads a period as staff type it: `30d` (default), `7d`, `12w`, `this-month`, `last-month`,
 * `2026-10` (a month), `2026` (a year) or `2026-10-01..2026-11-01`. Days are UTC; the period
 * ends at the start of tomorrow for relative forms.
 */
export function parsePeriod(text: string | undefined, now: Date): Result<Period, { type: "bad_period"; text: string }> {
  const t = (text ?? "").trim().toLowerCase();
  const tomorrow = new Date(utcDay(now).getTime() + DAY);
  if (t === "") return ok({ from: new Date(tomorrow.getTime() - 30 * DAY), to: tomorrow, label: "last 30 days" });
  let m = /^(\d{1,4})\s*([dw])$/.exec(t);
  if (m) {
    const days = Number(m[1]) * (m[2] === "w" ? 7 : 1);
    if (days < 1 || days > 3660) return err({ type: "bad_period", text: t });
    return ok({ from: new Date(tomorrow.getTime() - days * DAY), to: tomorrow, label: `last ${days} days` });
  }
  if (t === "this-month" || t === "month") {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    return ok({ from, to: tomorrow, label: `${isoDay(from).slice(0, 7)} to date` });
  }
  if (t === "last-month") {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    return ok({ from, to, label: isoDay(from).slice(0, 7) });
  }
  m = /^(\d{4})-(\d{2})$/.exec(t);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) {
    const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
    return ok({ from, to: new Date(Date.UTC(Number(m[1]), Number(m[2]), 1)), label: t });
  }
  m = /^(\d{4})$/.exec(t);
  if (m)
    return ok({
      from: new Date(Date.UTC(Number(m[1]), 0, 1)),
      to: new Date(Date.UTC(Number(m[1]) + 1, 0, 1)),
      label: t,
    });
  m = /^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$/.exec(t);
  if (m) {
    const from = parseIsoDay(m[1]!);
    const to = parseIsoDay(m[2]!);
    if (!from || !to || to <= from) return err({ type: "bad_period", text: t });
    return ok({ from, to, label: `${m[1]} to ${m[2]}` });
  }
  return err({ type: "bad_period", text: t });
}
