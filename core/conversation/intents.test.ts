import { describe, expect, it } from "vitest";
import { classifyIntent } from "./intents";

describe("intent rules", () => {
  it("takes greetings, thanks and emoji as small talk, in English and Russian", () => {
    const cases: [string, string][] = [
      ["Thanks!", "thanks"],
      ["thank you 🙏", "thanks"],
      ["Спасибо большое!", "thanks"],
      ["Hi, thanks!", "thanks"],
      ["👍", "emoji"],
      ["❤️", "emoji"],
      ["Hello", "greeting"],
      ["Здравствуйте", "greeting"],
    ];
    expect(cases.map(([text]) => [text, classifyIntent(text)])).toEqual(cases);
  });

  it("takes questions, order numbers and anything longer as a request", () => {
    for (const text of [
      "Where is my order?",
      "Thanks, but where is my order #4411",
      "Actually, I have a question about my last order: it never arrived.",
      "Где мой заказ 4411?",
      "5",
    ])
      expect(classifyIntent(text)).toBe("request");
  });
});
