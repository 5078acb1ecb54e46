import { describe, expect, it } from "vitest";
import { attributeValue, parseDate, planColumns, CUSTOMER_FIELDS } from "./fields";

describe("parseDate", () => {
  const iso = (s: string, zone = "UTC", format?: string) => parseDate(s, zone, format)?.toISOString() ?? null;
  it("reads ISO dates, date-times, SQL style and YYYYMMDD", () => {
    expect(iso("2024-03-01")).toBe("2024-03-01T00:00:00.000Z");
    expect(iso("19970101")).toBe("1997-01-01T00:00:00.000Z");
    expect(iso("2024-03-01 14:30:00")).toBe("2024-03-01T14:30:00.000Z");
    expect(iso("2024-03-01T14:30:00.5")).toBe("2024-03-01T14:30:00.500Z");
  });
  it("puts times without an offset in the given zone and keeps explicit offsets", () => {
    expect(iso("2024-03-01 14:30", "Europe/Moscow")).toBe("2024-03-01T11:30:00.000Z");
    expect(iso("2024-07-01 12:00", "Europe/London")).toBe("2024-07-01T11:00:00.000Z"); // summer time
    expect(iso("2024-01-01 12:00", "Europe/London")).toBe("2024-01-01T12:00:00.000Z");
    expect(iso("2024-03-01T14:30:00+03:00", "Asia/Tokyo")).toBe("2024-03-01T11:30:00.000Z");
  });
  it("rejects impossible dates and text", () => {
    for (const bad of ["2025-02-30", "2025-13-45", "2024-03-01 25:00", "hello", "", "2024/03/01"])
      expect(iso(bad), bad).toBeNull();
  });
  it("uses an explicit luxon format when given", () => {
    expect(iso("01.03.2024", "UTC", "dd.MM.yyyy")).toBe("2024-03-01T00:00:00.000Z");
    expect(iso("2024-03-01", "UTC", "dd.MM.yyyy")).toBeNull();
  });
});

describe("columns and attributes", () => {
  it("matches headers ignoring case and punctuation, overrides win", () => {
    const plan = planColumns(["Customer-ID", "E Mail", "Phone Number", "Shoe size"], CUSTOMER_FIELDS, {}, [
      "externalId",
    ]);
    expect(plan.ok && plan.plan.fields).toEqual({ externalId: 0, email: 1, phone: 2 });
    expect(plan.ok && plan.plan.extras).toEqual([{ index: 3, name: "shoe_size" }]);
    const overridden = planColumns(["Customer-ID", "Ref"], CUSTOMER_FIELDS, { Ref: "externalId" }, ["externalId"]);
    expect(overridden.ok && overridden.plan.fields.externalId).toBe(1);
  });
  it("keeps numbers as numbers and booleans as booleans", () => {
    expect(attributeValue("42")).toBe(42);
    expect(attributeValue("-3.5")).toBe(-3.5);
    expect(attributeValue("TRUE")).toBe(true);
    expect(attributeValue("00123456789012345678")).toBe("00123456789012345678"); // ids stay text
    expect(attributeValue("gold")).toBe("gold");
    expect(attributeValue("01234")).toBe("01234"); // a postcode, not a number
    expect(attributeValue("0.25")).toBe(0.25);
  });
});
