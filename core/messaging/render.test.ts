import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { assertUnreachable } from "../result";
import { decodeCallback, encodeCallback, type CallbackAction } from "./callback-data";
import type { MessageKind, OutboundMessage } from "./channel";
import { LOCALES_DIR, loadTranslator, pickLocale } from "./locales";
import { renderMessage } from "./render";

const KINDS: MessageKind[] = [
  "offer",
  "survey_nps",
  "survey_servqual",
  "ticket_ack",
  "ticket_reply",
  "csat_request",
  "notice",
];

function payloadFor(kind: MessageKind): Record<string, unknown> {
  switch (kind) {
    case "offer":
      return {
        offerIssueId: 5,
        title: "15% off",
        customerName: "Ivan Ivanov",
        topCategory: "rock",
        expiresAt: "2026-12-01T00:00:00Z",
        reasons: [
          { code: "detractor", text: "detractor (NPS 3)", values: { nps: 3 } },
          { code: "overdue", text: "no purchase for 94 days", values: { daysSince: 94 } },
        ],
      };
    case "survey_nps":
    case "survey_servqual":
      return {};
    case "ticket_ack":
      return { reference: "T-1042" };
    case "ticket_reply":
      return { reference: "T-1042", text: "We found your parcel." };
    case "csat_request":
      return { reference: "T-1042", ticketId: 42 };
    case "notice":
      return { key: "optout-done" };
    case "link_move":
      return { token: "tok-1" };
    default:
      return assertUnreachable(kind);
  }
}

const message = (kind: MessageKind, locale: string): OutboundMessage => ({
  outboxId: 31,
  idempotencyKey: "k",
  customerId: 1,
  chatId: 1n,
  locale,
  kind,
  payload: payloadFor(kind),
});

describe("renderMessage", () => {
  for (const locale of ["en", "ru"]) {
    it(`renders every kind in ${locale}, with valid short callback data`, async () => {
      for (const kind of KINDS) {
        const rendered = await renderMessage(message(kind, locale), { locale });
        expect(rendered.text.length, kind).toBeGreaterThan(5);
        expect(rendered.text).not.toMatch(/\{\s*\$/);
        for (const button of (rendered.buttons ?? []).flat()) {
          expect(Buffer.byteLength(button.data)).toBeLessThanOrEqual(64);
          expect(decodeCallback(button.data), button.data).not.toBeNull();
        }
      }
    });
  }

  it("personalises the offer template and never shows the surname", async () => {
    const en = await renderMessage(message("offer", "en"), { locale: "en" });
    expect(en.text).toContain("Hello, Ivan!");
    expect(en.text).toContain("rock");
    expect(en.text).toContain("It has been 94 days since your last order, and we miss you.");
    expect(en.text).not.toContain("NPS");
    expect(en.text).toContain("December 1, 2026");
    expect(en.text).not.toContain("Ivanov");
    const ru = await renderMessage(message("offer", "ru"), { locale: "ru" });
    expect(ru.text).toContain("Здравствуйте, Ivan!");
    expect(ru.text).toContain("прошло 94 дня, и мы скучаем.");
    // The category is quoted after "раздел", so no case ending is ever needed.
    expect(ru.text).toContain("в раздел «rock»");
    expect(ru.buttons?.flat().map((b) => b.text)).toEqual(["Воспользоваться", "Не интересно", "Больше не присылать"]);
  });

  it("words the offer in the customer's language, says once how long it has been, and names the brand", async () => {
    const t = loadTranslator(LOCALES_DIR, { brand: "Acme Records" });
    const offer = (locale: string, extra: Record<string, unknown> = {}) =>
      renderMessage(
        {
          ...message("offer", locale),
          payload: { ...payloadFor("offer"), title: "15% off your next order", ...extra },
        },
        { locale, translate: t },
      );
    const translations = {
      ru: { title: "скидка 15% на следующий заказ", description: "Действует на всё, кроме подарочных карт." },
    };
    const ru = (await offer("ru", { translations, description: "Valid on everything but gift cards." })).text;
    expect(ru).toContain("Вам пишет Acme Records.");
    expect(ru).toContain("специально для вас: скидка 15% на следующий заказ.");
    expect(ru).toContain("Действует на всё, кроме подарочных карт.");
    expect(ru).not.toMatch(/[A-Za-z]{3,} (off|your|gift)/);
    expect(ru.match(/прошло/g)).toHaveLength(1);
    const en = (await offer("en", { translations, description: "Valid on everything but gift cards." })).text;
    expect(en).toContain("A message from Acme Records.");
    expect(en).toContain("here is something just for you: 15% off your next order.");
    expect(en).toContain("Valid on everything but gift cards.");
    expect(en.match(/It has been/g)).toHaveLength(1);
    // The old single-title form is every language's words; no history says "a while" once.
    const plain = (await offer("ru", { reasons: [] })).text;
    expect(plain).toContain("специально для вас: 15% off your next order.");
    expect(plain.match(/прошло/g)).toHaveLength(1);
    expect(plain).toContain("прошло немало времени");
    for (const text of [ru, en, plain]) expect(text).not.toMatch(/the shop|магазин[^а-я]/i);
  });

  it("puts the survey's outbox id in the NPS buttons", async () => {
    const rendered = await renderMessage(message("survey_nps", "en"), { locale: "en" });
    expect(rendered.buttons?.flat().map((b) => decodeCallback(b.data))).toEqual(
      Array.from({ length: 11 }, (_, score) => ({ type: "nps", outboxId: 31, score })),
    );
  });

  it("refuses a payload its kind cannot render", async () => {
    await expect(renderMessage({ ...message("offer", "en"), payload: {} }, { locale: "en" })).rejects.toThrow();
    await expect(
      renderMessage({ ...message("csat_request", "en"), payload: { reference: "T-1" } }, { locale: "en" }),
    ).rejects.toThrow();
  });
});

describe("callback data", () => {
  it("round-trips every action", () => {
    const actions: CallbackAction[] = [
      { type: "offer", action: "accept", issueId: 1 },
      { type: "offer", action: "decline", issueId: 2 },
      { type: "offer", action: "stop", issueId: 3 },
      { type: "nps", outboxId: 9, score: 0 },
      { type: "servqual_start", outboxId: 4 },
      { type: "servqual_answer", step: 9, value: 7 },
      { type: "csat", ticketId: 8, score: 5 },
      { type: "forget", confirm: true },
      { type: "optin", confirm: false },
      { type: "language", locale: "ru" },
      // A link token as createLinkToken makes it: 32 url-safe characters.
      { type: "link_move", confirm: true, token: "aB3_-xYz0123456789aB3_-xYz012345" },
      { type: "link_move", confirm: false, token: "aB3_-xYz0123456789aB3_-xYz012345" },
    ];
    for (const action of actions) {
      expect(Buffer.byteLength(encodeCallback(action))).toBeLessThanOrEqual(64);
      expect(decodeCallback(encodeCallback(action))).toEqual(action);
    }
  });

  it("rejects forged, malformed and out-of-range data", () => {
    for (const data of [
      "",
      "v1",
      "v2:of:a:1",
      "v1:of:x:1",
      "v1:lm:y:short",
      "v1:lm:maybe:aB3_-xYz0123456789aB3_-xYz012345",
      "v1:of:a:-1",
      "v1:of:a:1:2",
      "v1:np:1:11",
      "v1:sq:1:0",
      "v1:sq:1:8",
      "v1:cs:1:6",
      "v1:lg:de",
      "v1:fg:maybe",
      "v1:of:a:1e3",
      "v1:of:a:12345678901",
      "x".repeat(65),
    ]) {
      expect(decodeCallback(data), data).toBeNull();
    }
  });
});

describe("locales", () => {
  it("has the same keys in every locale file", () => {
    const keys = (locale: string) =>
      readFileSync(path.join(LOCALES_DIR, `${locale}.ftl`), "utf8")
        .match(/^[a-z][a-z0-9-]* =/gm)!
        .sort();
    expect(keys("ru")).toEqual(keys("en"));
    const t = loadTranslator();
    expect(t("ru", "help")).toContain("Что я умею");
    expect(t("de", "help")).toContain("Here is what I can do");
    expect(() => t("en", "no-such-key")).toThrow(/no text/);
  });

  it("maps Telegram language codes", () => {
    expect(pickLocale("ru-RU")).toBe("ru");
    expect(pickLocale("pt-br")).toBe("en");
    expect(pickLocale(undefined, "ru")).toBe("ru");
  });
});
