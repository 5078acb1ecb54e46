// The SERVQUAL questions as the conversation core builds them and the locale files word them:
// every statement about the business names it by BRAND_NAME, in English and Russian; the
// expectation statements stay about "an excellent shop", as the method asks.
import { describe, expect, it } from "vitest";
import { servqualQuestionReply } from "../conversation/conversation";
import { loadTranslator } from "../messaging/locales";
import { SERVQUAL_STEPS, startServqual } from "./servqual";

const BRAND = "Acme Records";

describe("SERVQUAL wording", () => {
  for (const locale of ["en", "ru"] as const)
    it(`names the brand in every statement about the business (${locale})`, () => {
      const t = loadTranslator(undefined, { brand: BRAND });
      const statements = Array.from({ length: SERVQUAL_STEPS }, (_, step) => {
        const reply = servqualQuestionReply({ ...startServqual("s1"), step });
        const statement = reply.lines.find((l) => l.key.startsWith("servqual-") && /-(expect|perceive)-/.test(l.key))!;
        return { key: statement.key, text: t(locale, statement.key, statement.vars) };
      });
      const perceived = statements.filter((s) => s.key.includes("-perceive-"));
      expect(perceived).toHaveLength(SERVQUAL_STEPS / 2);
      for (const s of perceived) expect(s.text, s.key).toContain(BRAND);
      for (const s of statements) expect(s.text, s.key).not.toMatch(/our shop|наш(его)? магазин/i);
      // Without BRAND_NAME the default term reads as a name would (never inflected).
      const plain = loadTranslator()(locale, "servqual-perceive-reliability");
      expect(plain).toContain(locale === "en" ? "our shop does" : "наш магазин выполняет");
    });
});
