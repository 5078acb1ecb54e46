// The rejected rows of one import: every one counted by reason, the first ones (by line) kept for
// the report. Rows checked one by one are added as they come; rows a set-based check in SQL
// rejected arrive as a count per reason with their first lines.

export interface RowError {
  line: number;
  reason: string;
}

export interface ReasonCount {
  reason: string;
  count: number;
  firstLine: number;
}

export const MAX_REPORTED_ERRORS = 1000;

export class Rejections {
  /** Rows rejected, all reasons together. */
  count = 0;
  private kept: RowError[] = [];
  private readonly byReason = new Map<string, ReasonCount>();

  add(e: RowError): void {
    this.count++;
    this.keep(e);
    this.countReason(reasonKind(e.reason), 1, e.line);
  }

  /**
   * `count` rows rejected for one reason, the first on `first.line`; `samples` (some of them,
   * from the first on) are kept for the report.
   */
  addCounted(first: RowError, count: number, samples: RowError[]): void {
    this.count += count;
    for (const e of samples) this.keep(e);
    this.countReason(reasonKind(first.reason), count, first.line);
  }

  /** Adds every rejection of `other` to this one. */
  merge(other: Rejections): void {
    this.count += other.count;
    for (const e of other.kept) this.keep(e);
    for (const r of other.byReason.values()) this.countReason(r.reason, r.count, r.firstLine);
  }

  /** The first `MAX_REPORTED_ERRORS` rejected rows, in file order. */
  errors(): RowError[] {
    this.trim();
    return [...this.kept];
  }

  /** Every reason with its count and first line, most frequent first. */
  reasons(): ReasonCount[] {
    return [...this.byReason.values()].sort((a, b) => b.count - a.count || a.firstLine - b.firstLine);
  }

  private keep(e: RowError): void {
    this.kept.push(e);
    if (this.kept.length >= 2 * MAX_REPORTED_ERRORS) this.trim();
  }

  private trim(): void {
    this.kept.sort((a, b) => a.line - b.line);
    if (this.kept.length > MAX_REPORTED_ERRORS) this.kept.length = MAX_REPORTED_ERRORS;
  }

  private countReason(reason: string, count: number, firstLine: number): void {
    const seen = this.byReason.get(reason);
    if (seen) {
      seen.count += count;
      seen.firstLine = Math.min(seen.firstLine, firstLine);
    } else this.byReason.set(reason, { reason, count, firstLine });
  }
}

/** A rejection reason without its values, so that rows rejected for the same reason count together. */
export function reasonKind(reason: string): string {
  return reason.replace(/"[^"]*"/g, "…").replace(/\d+([./:]\d+)*/g, "N");
}
