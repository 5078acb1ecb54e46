import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { Prisma, type Database } from "../db/client";
import type { MessageKind } from "../messaging/channel";
import { contactRefusalSql, effectiveTimeZone, quietHoursEndAt, type ContactPolicy } from "./contact-policy";
import { insertScoredCustomers, upsertOffers } from "./test-fixtures";

const policy: ContactPolicy = {
  quietHoursStart: 21,
  quietHoursEnd: 9,
  offerCapDays: 14,
  surveyCapDays: 90,
  spacingHours: 24,
  declineCooldownDays: 60,
  businessTimeZone: "Europe/Berlin",
};

describe("quiet hours in the customer's own time zone", () => {
  it("defers a New York evening to 9:00 New York time and lets Tokyo's morning through", () => {
    const now = new Date("2026-01-15T02:00:00Z"); // 21:00 in New York (EST), 11:00 in Tokyo
    expect(quietHoursEndAt(now, "America/New_York", policy)?.toISOString()).toBe("2026-01-15T14:00:00.000Z");
    expect(quietHoursEndAt(now, "Asia/Tokyo", policy)).toBeNull();
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
    expect(quietHoursEndAt(now, effectiveTimeZone(null, "Europe/Berlin"), policy)).not.toBeNull();
    expect(quietHoursEndAt(now, effectiveTimeZone("UTC", "Europe/Berlin"), policy)).toBeNull();
  });
});

describeEachDatabase(
  "the contact policy's rules, as the planner, survey waves and the send-time check apply them",
  (kind) => {
    const now = new Date("2026-06-10T12:00:00Z");
    const hours = (n: number) => new Date(now.getTime() - n * 3_600_000);
    let db: Database;
    let n = 0;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
    });
    afterEach(async () => {
      await db.close();
    });

    const customer = async (overrides: { linked?: boolean; consent?: boolean } = {}) => {
      const { ids } = await insertScoredCustomers(
        db,
        [{ externalId: `cp${++n}`, churnProbability: 0.9, clv: 100, ...overrides }],
        now,
      );
      return ids[0]!;
    };
    const message = (customerId: number, kind: MessageKind, status: string, sentAt: Date | null = null) =>
      db.prisma.outboxMessage.create({
        data: { idempotencyKey: `m${++n}`, customerId, kind, status, sentAt, notBefore: sentAt ?? now },
      });
    const refusal = async (customerId: number | null, kind: MessageKind, p: ContactPolicy = policy) => {
      const sql = contactRefusalSql(p, now, { customer: "c", kind });
      const [row] = await db.prisma.$queryRaw<{ reason: string | null }[]>(
        Prisma.sql`SELECT ${sql} AS reason FROM (SELECT ${customerId}::int AS id) x LEFT JOIN customers c ON c.id = x.id`,
      );
      return row!.reason;
    };

    it("marketing needs opt-in consent and no opt-out; answers to the customer still go", async () => {
      const noConsent = await customer({ consent: false });
      expect(await refusal(noConsent, "offer")).toBe("no_consent");
      expect(await refusal(noConsent, "survey_servqual")).toBe("no_consent");
      expect(await refusal(noConsent, "ticket_reply")).toBeNull();
      const optedOut = await customer();
      await db.prisma.customer.update({ where: { id: optedOut }, data: { optedOutAt: hours(1) } });
      expect(await refusal(optedOut, "survey_nps")).toBe("opted_out");
      expect(await refusal(optedOut, "ticket_reply")).toBeNull();
      expect(await refusal(await customer(), "offer")).toBeNull();
    });

    it("refuses unlinked, unreachable, erased and unknown customers for every kind", async () => {
      expect(await refusal(await customer({ linked: false }), "ticket_reply")).toBe("not_linked");
      const unreachable = await customer();
      await db.prisma.customer.update({ where: { id: unreachable }, data: { unreachableAt: now } });
      expect(await refusal(unreachable, "offer")).toBe("unreachable");
      const erased = await customer();
      await db.prisma.customer.update({ where: { id: erased }, data: { erasedAt: now } });
      expect(await refusal(erased, "notice")).toBe("erased");
      expect(await refusal(null, "offer")).toBe("no_customer");
    });

    it("applies the offer cap up to the exact boundary; an offer is not a survey", async () => {
      const justInside = await customer();
      await message(justInside, "offer", "sent", new Date(hours(14 * 24).getTime() + 1));
      const boundary = await customer();
      await message(boundary, "offer", "sent", hours(14 * 24));
      expect(await refusal(justInside, "offer")).toBe("offer_cap");
      expect(await refusal(boundary, "offer")).toBeNull();
      expect(await refusal(justInside, "survey_nps")).toBeNull();
      expect(await refusal(justInside, "offer", { ...policy, offerCapDays: 0 })).toBeNull();
    });

    it("counts queued, claimed, in-flight and in-doubt messages against the caps, not failed or skipped ones", async () => {
      for (const status of ["pending", "claimed", "sending"]) {
        const c = await customer();
        await message(c, "offer", status);
        expect(await refusal(c, "offer")).toBe("offer_cap");
        expect(await refusal(c, "survey_nps")).toBe("spacing");
      }
      const inDoubt = await customer();
      await db.prisma.outboxMessage.create({
        data: {
          idempotencyKey: `m${++n}`,
          customerId: inDoubt,
          kind: "survey_nps",
          status: "failed",
          lastError: "in_doubt",
          notBefore: hours(2),
        },
      });
      expect(await refusal(inDoubt, "survey_servqual")).toBe("survey_cap");
      const settled = await customer();
      await message(settled, "offer", "skipped");
      await message(settled, "survey_nps", "failed");
      expect(await refusal(settled, "offer")).toBeNull();
      expect(await refusal(settled, "survey_nps")).toBeNull();
    });

    it("keeps the spacing between any two marketing messages, whatever their kinds", async () => {
      const c = await customer();
      await message(c, "survey_nps", "sent", hours(23));
      expect(await refusal(c, "offer")).toBe("spacing");
      expect(await refusal(c, "offer", { ...policy, spacingHours: 0 })).toBeNull();
      const later = await customer();
      await message(later, "survey_nps", "sent", hours(25));
      expect(await refusal(later, "offer")).toBeNull();
      // a transactional message is no marketing contact
      const replied = await customer();
      await message(replied, "ticket_reply", "sent", hours(1));
      expect(await refusal(replied, "offer")).toBeNull();
    });

    it("applies the survey cap and the decline cooldown", async () => {
      const surveyed = await customer();
      await message(surveyed, "survey_servqual", "sent", hours(89 * 24));
      expect(await refusal(surveyed, "survey_nps")).toBe("survey_cap");
      const longAgo = await customer();
      await message(longAgo, "survey_nps", "sent", hours(91 * 24));
      expect(await refusal(longAgo, "survey_nps")).toBeNull();

      await upsertOffers(db, [{ key: "o", cost: 1, saveProbability: 0.1 }]);
      const offer = await db.prisma.offer.findUniqueOrThrow({ where: { key: "o" } });
      const decline = async (customerId: number, daysAgo: number) =>
        db.prisma.offerIssue.create({
          data: {
            code: `C${++n}`,
            customerId,
            offerId: offer.id,
            status: "declined",
            respondedAt: hours(daysAgo * 24),
            expiresAt: now,
          },
        });
      const recent = await customer();
      await decline(recent, 59);
      const old = await customer();
      await decline(old, 61);
      expect(await refusal(recent, "offer")).toBe("decline_cooldown");
      expect(await refusal(old, "offer")).toBeNull();
    });
  },
);
