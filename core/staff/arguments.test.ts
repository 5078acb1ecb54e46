import { describe, expect, it } from "vitest";
import { SEGMENTS } from "../analytics/segments";
import { leadingSegment, parseDateOrInstant, parseIsoDay, resolveSegment, splitWords } from "./arguments";
import { parsePeriod } from "./period";

describe("segment names as staff write them", () => {
  it("reads every segment in lower case, upper case, with dashes or underscores", () => {
    for (const segment of SEGMENTS) {
      for (const written of [
        segment.toLowerCase(),
        segment.toUpperCase(),
        segment.replace(/ /g, "-"),
        segment.replace(/ /g, "_"),
      ])
        expect(resolveSegment(written), written).toEqual({ ok: true, value: segment });
    }
    expect(resolveSegment("cant lose them")).toEqual({ ok: true, value: "Can't lose them" });
    expect(resolveSegment("Can’t lose")).toEqual({ ok: true, value: "Can't lose them" });
  });

  it("answers a typo with the closest name, and anything else with the list, never as a segment", () => {
    const typo = resolveSegment("Champins");
    expect(typo.ok).toBe(false);
    expect(!typo.ok && typo.error.suggestion).toBe("Champions");
    expect(!typo.ok && typo.error.message).toMatch(/Did you mean "Champions"\?/);
    const atRisk = resolveSegment("at rsik");
    expect(!atRisk.ok && atRisk.error.suggestion).toBe("At risk");
    const none = resolveSegment("whales");
    expect(none.ok).toBe(false);
    expect(!none.ok && none.error.suggestion).toBeUndefined();
    expect(!none.ok && none.error.message).toContain(`Segments: ${SEGMENTS.join(", ")}.`);
  });

  it("finds the segment at the start of some words, longest first", () => {
    expect(leadingSegment(["At", "risk", "30d"])).toEqual({ segment: "At risk", rest: ["30d"] });
    expect(leadingSegment(["potential", "loyalist"])).toEqual({ segment: "Potential loyalist", rest: [] });
    expect(leadingSegment(["30d"])).toBeUndefined();
  });

  it("splits words keeping quoted names together, straight or curly quotes", () => {
    expect(splitWords('at-risk "At risk" --limit 5')).toEqual(["at-risk", "At risk", "--limit", "5"]);
    expect(splitWords("metrics --segment “Can't lose them” 30d")).toEqual([
      "metrics",
      "--segment",
      "Can't lose them",
      "30d",
    ]);
  });
});

describe("dates that exist", () => {
  it("refuses days that do not exist instead of rolling them over", () => {
    expect(parseIsoDay("2026-02-28")?.toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(parseIsoDay("2028-02-29")?.toISOString()).toBe("2028-02-29T00:00:00.000Z");
    for (const bad of ["2026-02-30", "2026-02-29", "2026-13-01", "2026-04-31", "2026-00-10", "26-02-01", "tomorrow"])
      expect(parseIsoDay(bad), bad).toBeNull();
  });

  it("reads instants with their zone, and refuses one on a day that does not exist", () => {
    expect(parseDateOrInstant("2026-03-01T10:30:00Z")?.toISOString()).toBe("2026-03-01T10:30:00.000Z");
    expect(parseDateOrInstant("2026-03-01T10:30:00+03:00")?.toISOString()).toBe("2026-03-01T07:30:00.000Z");
    expect(parseDateOrInstant("2026-02-30T10:30:00Z")).toBeNull();
    expect(parseDateOrInstant("March 3")).toBeNull();
  });

  it("a period between two dates needs both to exist", () => {
    const now = new Date("2026-12-02T10:00:00Z");
    expect(parsePeriod("2026-02-01..2026-02-30", now).ok).toBe(false);
    expect(parsePeriod("2026-02-01..2026-03-01", now)).toMatchObject({
      ok: true,
      value: { label: "2026-02-01 to 2026-03-01" },
    });
  });
});
