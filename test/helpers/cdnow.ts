// The CDNOW data set (Fader & Hardie) as the papers read it, for the tests that reproduce their
// BG/NBD and Gamma-Gamma figures: reading the public files and building the calibration
// summaries of Fader, Hardie & Lee (2005), times in weeks. The product reads CDNOW through its
// importer (`retention import orders --format cdnow`) like any other store's history.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { RfmSummary } from "../../core/analytics/models/bgnbd";

/** One customer-day: purchases on the same day are merged, as in the papers. */
export interface CdnowPurchase {
  customer: string;
  /** Days since 1970-01-01 (UTC). */
  day: number;
  cds: number;
  dollars: number;
}

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of an ISO date (YYYY-MM-DD) or a CDNOW date (YYYYMMDD). */
export function dayNumber(date: string): number {
  const digits = date.replace(/-/g, "");
  if (!/^\d{8}$/.test(digits)) throw new RangeError(`not a date: ${date}`);
  return Date.UTC(Number(digits.slice(0, 4)), Number(digits.slice(4, 6)) - 1, Number(digits.slice(6, 8))) / MS_PER_DAY;
}

/**
 * Reads `CDNOW_master.txt` (`customer_id YYYYMMDD cds dollars`) or `CDNOW_sample.txt`
 * (`master_id sample_id YYYYMMDD cds dollars`), skipping a header line, and merges purchases
 * by the same customer on the same day (cds and dollars summed). Sorted by customer, then day.
 */
export async function readCdnow(file: string): Promise<CdnowPurchase[]> {
  const merged = new Map<string, CdnowPurchase>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || !/^\d+$/.test(fields[0]!)) continue; // blank or header
    const [customer, date, cds, dollars] =
      fields.length >= 5
        ? [fields[0]!, fields[2]!, fields[3]!, fields[4]!]
        : [fields[0]!, fields[1]!, fields[2]!, fields[3]!];
    const day = dayNumber(date);
    const key = `${customer}|${day}`;
    const n = Number(cds);
    const d = Number(dollars);
    if (!Number.isFinite(n) || !Number.isFinite(d)) throw new RangeError(`${file}:${lineNumber}: bad numbers`);
    const existing = merged.get(key);
    if (existing) {
      existing.cds += n;
      existing.dollars += d;
    } else {
      merged.set(key, { customer, day, cds: n, dollars: d });
    }
  }
  return [...merged.values()].sort((a, b) =>
    a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : a.day - b.day,
  );
}

/** A customer's calibration-period history plus what happened in the holdout period. */
export interface CdnowCustomer extends RfmSummary {
  customer: string;
  /** Mean dollars of the repeat purchases in the calibration period (0 when x = 0). */
  meanRepeatSpend: number;
  /** Purchase days in the holdout period. */
  holdoutPurchases: number;
}

export interface CdnowPeriods {
  /** First day of calibration, inclusive (YYYY-MM-DD). */
  calibrationStart: string;
  /** Last day of calibration, inclusive. */
  calibrationEnd: string;
  /** Last day of the holdout period, inclusive (the holdout starts the day after calibrationEnd). */
  holdoutEnd: string;
}

/** The periods of Fader, Hardie & Lee (2005): 39 weeks of calibration, 39 of holdout. */
export const PAPER_PERIODS: CdnowPeriods = {
  calibrationStart: "1997-01-01",
  calibrationEnd: "1997-09-30",
  holdoutEnd: "1998-06-30",
};

/**
 * Builds one summary per customer whose first purchase falls in the calibration period, in
 * weeks: x = repeat customer-days, tx = weeks from the first purchase to the last,
 * T = weeks from the first purchase to the calibration end date (the paper's convention:
 * a customer first buying on 1997-01-01 has T = 272/7 = 38.86).
 */
export function cdnowCalibration(
  purchases: readonly CdnowPurchase[],
  periods: CdnowPeriods = PAPER_PERIODS,
): CdnowCustomer[] {
  const start = dayNumber(periods.calibrationStart);
  const end = dayNumber(periods.calibrationEnd);
  const holdoutEnd = dayNumber(periods.holdoutEnd);
  const byCustomer = new Map<string, CdnowPurchase[]>();
  for (const p of purchases) {
    const list = byCustomer.get(p.customer);
    if (list) list.push(p);
    else byCustomer.set(p.customer, [p]);
  }
  const customers: CdnowCustomer[] = [];
  for (const [customer, list] of byCustomer) {
    list.sort((a, b) => a.day - b.day);
    const calibration = list.filter((p) => p.day >= start && p.day <= end);
    if (calibration.length === 0 || list[0]!.day < start) continue;
    const first = calibration[0]!.day;
    const last = calibration[calibration.length - 1]!.day;
    const x = calibration.length - 1;
    const repeatDollars = calibration.slice(1).reduce((s, p) => s + p.dollars, 0);
    customers.push({
      customer,
      x,
      tx: (last - first) / 7,
      T: (end - first) / 7,
      meanRepeatSpend: x > 0 ? repeatDollars / x : 0,
      holdoutPurchases: list.filter((p) => p.day > end && p.day <= holdoutEnd).length,
    });
  }
  return customers;
}
