import { describe, expect, it } from "vitest";
import { parsePeriod } from "./period";

const NOW = new Date("2026-11-20T15:30:00Z");
const iso = (d: Date) => d.toISOString().slice(0, 10);

describe("parsePeriod", () => {
  it.each([
    [undefined, "2026-10-22", "2026-11-21"],
    ["7d", "2026-11-14", "2026-11-21"],
    ["2w", "2026-11-07", "2026-11-21"],
    ["this-month", "2026-11-01", "2026-11-21"],
    ["last-month", "2026-10-01", "2026-11-01"],
    ["2026-02", "2026-02-01", "2026-03-01"],
    ["2025", "2025-01-01", "2026-01-01"],
    ["2026-09-01..2026-10-01", "2026-09-01", "2026-10-01"],
  ])("%s", (text, from, to) => {
    const p = parsePeriod(text, NOW);
    expect(p.ok && [iso(p.value.from), iso(p.value.to)]).toEqual([from, to]);
  });
  it("refuses what it cannot read", () => {
    for (const bad of ["fortnight", "2026-13", "0d", "2026-10-01..2026-09-01"])
      expect(parsePeriod(bad, NOW).ok, bad).toBe(false);
  });
});
