import { describe, expect, it } from "vitest";
import {
  decideContact,
  effectiveTimeZone,
  quietHoursEndAt,
  type ContactPolicy,
  type ContactState,
} from "./contact-policy";

const policy: ContactPolicy = {
  quietHoursStart: 21,
  quietHoursEnd: 9,
  offerCapDays: 14,
  surveyCapDays: 90,
  declineCooldownDays: 60,
  businessTimeZone: "Europe/Berlin",
};

const base: ContactState = {
  linked: true,
  marketingConsent: true,
  optedOutAt: null,
  unreachableAt: null,
  erasedAt: null,
  timeZone: "UTC",
  lastOfferSentAt: null,
  lastSurveySentAt: null,
  lastDeclinedAt: null,
};
const days = (n: number) => n * 86_400_000;

describe("quiet hours in the customer's own time zone", () => {
  it("defers a New York evening to 9:00 New York time and lets Tokyo's morning through", () => {
    const now = new Date("2026-01-15T02:00:00Z"); // 21:00 in New York (EST), 11:00 in Tokyo
    expect(quietHoursEndAt(now, "America/New_York", policy)?.toISOString()).toBe("2026-01-15T14:00:00.000Z");
    expect(quietHoursEndAt(now, "Asia/Tokyo", policy)).toBeNull();
    expect(decideContact("offer", { ...base, timeZone: "Asia/Tokyo" }, policy, now)).toEqual({ type: "send" });
    expect(decideContact("offer", { ...base, timeZone: "America/New_York" }, policy, now)).toEqual({
      type: "defer",
      until: new Date("2026-01-15T14:00:00Z"),
      reason: "quiet_hours",
    });
  });

  it("before 9:00 waits for the same morning; 9:00 sharp is allowed; 20:59 is allowed", () => {
    expect(quietHoursEndAt(new Date("2026-01-15T05:30:00Z"), "UTC", policy)?.toISOString()).toBe(
      "2026-01-15T09:00:00.000Z",
    );
    expect(quietHoursEndAt(new Date("2026-01-15T09:00:00Z"), "UTC", policy)).toBeNull();
    expect(quietHoursEndAt(new Date("2026-01-15T20:59:59Z"), "UTC", policy)).toBeNull();
    expect(quietHoursEndAt(new Date("2026-01-15T21:00:00Z"), "UTC", policy)?.toISOString()).toBe(
      "2026-01-16T09:00:00.000Z",
    );
  });

  it("across the spring DST change the wait ends at 9:00 local, one hour less of UTC time", () => {
    // Europe/Berlin moves from +01:00 to +02:00 at 2026-03-29 02:00 local.
    const evening = new Date("2026-03-28T21:30:00Z"); // 22:30 CET on Saturday
    const until = quietHoursEndAt(evening, "Europe/Berlin", policy)!;
    expect(until.toISOString()).toBe("2026-03-29T07:00:00.000Z"); // 09:00 CEST
    // The same wall-clock evening a week earlier waited until 08:00 UTC.
    expect(quietHoursEndAt(new Date("2026-03-21T21:30:00Z"), "Europe/Berlin", policy)!.toISOString()).toBe(
      "2026-03-22T08:00:00.000Z",
    );
  });

  it("across the autumn DST change in New York the wait ends at 9:00 EST", () => {
    // America/New_York goes from -04:00 to -05:00 at 2026-11-01 02:00 local.
    const night = new Date("2026-11-01T05:30:00Z"); // 01:30 EDT, before the change
    expect(quietHoursEndAt(night, "America/New_York", policy)!.toISOString()).toBe("2026-11-01T14:00:00.000Z");
  });

  it("quiet hours that do not wrap midnight, and none when start equals end", () => {
    const p = { quietHoursStart: 0, quietHoursEnd: 7 };
    expect(quietHoursEndAt(new Date("2026-01-15T03:00:00Z"), "UTC", p)?.toISOString()).toBe("2026-01-15T07:00:00.000Z");
    expect(quietHoursEndAt(new Date("2026-01-15T22:00:00Z"), "UTC", p)).toBeNull();
    expect(
      quietHoursEndAt(new Date("2026-01-15T03:00:00Z"), "UTC", { quietHoursStart: 9, quietHoursEnd: 9 }),
    ).toBeNull();
  });

  it("falls back to the business time zone for missing or invalid zones", () => {
    expect(effectiveTimeZone(null, "Europe/Berlin")).toBe("Europe/Berlin");
    expect(effectiveTimeZone("Mars/Olympus", "Europe/Berlin")).toBe("Europe/Berlin");
    const now = new Date("2026-01-15T20:30:00Z"); // 21:30 in Berlin, 20:30 UTC
    expect(decideContact("offer", { ...base, timeZone: null }, policy, now).type).toBe("defer");
    expect(decideContact("offer", { ...base, timeZone: "UTC" }, policy, now).type).toBe("send");
  });
});

describe("consent, caps and reachability", () => {
  const now = new Date("2026-06-10T12:00:00Z");

  it("never sends marketing to opted-out customers, but still sends ticket replies", () => {
    const out = { ...base, marketingConsent: false };
    expect(decideContact("offer", out, policy, now)).toEqual({ type: "skip", reason: "opted_out" });
    expect(decideContact("survey_nps", { ...base, optedOutAt: new Date("2026-01-01") }, policy, now)).toEqual({
      type: "skip",
      reason: "opted_out",
    });
    expect(decideContact("ticket_reply", out, policy, now)).toEqual({ type: "send" });
  });

  it("skips unlinked, unreachable, erased and unknown customers for every kind", () => {
    expect(decideContact("ticket_reply", { ...base, linked: false }, policy, now)).toEqual({
      type: "skip",
      reason: "not_linked",
    });
    expect(decideContact("offer", { ...base, unreachableAt: now }, policy, now)).toEqual({
      type: "skip",
      reason: "unreachable",
    });
    expect(decideContact("notice", { ...base, erasedAt: now }, policy, now)).toEqual({
      type: "skip",
      reason: "erased",
    });
    expect(decideContact("offer", null, policy, now)).toEqual({ type: "skip", reason: "no_customer" });
  });

  it("applies the offer cap up to the exact boundary", () => {
    const justInside = { ...base, lastOfferSentAt: new Date(now.getTime() - days(14) + 1) };
    const boundary = { ...base, lastOfferSentAt: new Date(now.getTime() - days(14)) };
    expect(decideContact("offer", justInside, policy, now)).toEqual({ type: "skip", reason: "offer_cap" });
    expect(decideContact("offer", boundary, policy, now)).toEqual({ type: "send" });
    // an offer does not count against the survey cap
    expect(decideContact("survey_nps", justInside, policy, now)).toEqual({ type: "send" });
  });

  it("applies the survey cap and the decline cooldown", () => {
    expect(
      decideContact("survey_nps", { ...base, lastSurveySentAt: new Date(now.getTime() - days(89)) }, policy, now),
    ).toEqual({ type: "skip", reason: "survey_cap" });
    expect(
      decideContact("survey_nps", { ...base, lastSurveySentAt: new Date(now.getTime() - days(91)) }, policy, now),
    ).toEqual({ type: "send" });
    expect(
      decideContact("offer", { ...base, lastDeclinedAt: new Date(now.getTime() - days(59)) }, policy, now),
    ).toEqual({ type: "skip", reason: "decline_cooldown" });
    expect(
      decideContact("offer", { ...base, lastDeclinedAt: new Date(now.getTime() - days(61)) }, policy, now),
    ).toEqual({ type: "send" });
  });

  it("a cap of 0 days disables the cap", () => {
    expect(decideContact("offer", { ...base, lastOfferSentAt: now }, { ...policy, offerCapDays: 0 }, now)).toEqual({
      type: "send",
    });
  });
});
