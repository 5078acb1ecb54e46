import { describe, expect, it } from "vitest";
import { parseRetentionCommand } from "./command-parser";
import { questionText } from "./assistant-events";
import { slackToPlain } from "./slack-to-telegram";
import { formatP, reasonsCell } from "./blocks";

describe("parseRetentionCommand", () => {
  it("reads at-risk with a multi-word segment and options in any order", () => {
    expect(parseRetentionCommand("at-risk Can't lose --min-risk 0.6 --limit 10 --by clv")).toEqual({
      ok: true,
      command: { name: "at-risk", segment: "Can't lose them", minRisk: 0.6, limit: 10, orderBy: "clv" },
    });
    expect(parseRetentionCommand("at-risk --limit=5")).toEqual({
      ok: true,
      command: { name: "at-risk", segment: undefined, minRisk: undefined, limit: 5, orderBy: "risk" },
    });
  });
  it("reads segment names as people write them: any case, several words, quoted or not", () => {
    const segmentOf = (text: string) => {
      const r = parseRetentionCommand(text);
      if (!r.ok) throw new Error(r.message);
      return "segment" in r.command ? r.command.segment : undefined;
    };
    expect(segmentOf("at-risk champions")).toBe("Champions");
    expect(segmentOf("at-risk AT RISK")).toBe("At risk");
    expect(segmentOf('at-risk "can’t lose them" --limit 5')).toBe("Can't lose them");
    expect(segmentOf("at-risk about-to-sleep")).toBe("About to sleep");
    expect(parseRetentionCommand("metrics --segment At risk 30d")).toEqual({
      ok: true,
      command: { name: "metrics", period: "30d", segment: "At risk" },
    });
    expect(parseRetentionCommand("metrics last-month --segment “Need attention”")).toEqual({
      ok: true,
      command: { name: "metrics", period: "last-month", segment: "Need attention" },
    });
  });
  it("answers a typo with a did-you-mean and an unknown name with the list, never as an all-clear", () => {
    const typo = parseRetentionCommand("at-risk Champins");
    expect(typo).toEqual({ ok: false, message: expect.stringContaining('Did you mean "Champions"?') });
    const unknown = parseRetentionCommand("metrics --segment Whales");
    expect(unknown.ok).toBe(false);
    expect(!unknown.ok && unknown.message).toContain("Segments: Champions, Loyal,");
    expect(!unknown.ok && unknown.message).not.toContain("Did you mean");
  });
  it("defaults to help and refuses unknown subcommands and bad values with a hint", () => {
    expect(parseRetentionCommand("")).toEqual({ ok: true, command: { name: "help" } });
    for (const bad of [
      "at-risk --min-risk 1.5",
      "at-risk --limit 0",
      "at-risk --limit 9999",
      "at-risk --colour red",
      "campaign abc",
      "customer",
      "frobnicate",
    ]) {
      const r = parseRetentionCommand(bad);
      expect(r.ok, bad).toBe(false);
    }
  });
  it("reads customer, link, metrics and campaign", () => {
    expect(parseRetentionCommand("customer +44 7700 900123")).toEqual({
      ok: true,
      command: { name: "customer", query: "+44 7700 900123" },
    });
    expect(parseRetentionCommand("link C-1")).toEqual({ ok: true, command: { name: "link", query: "C-1" } });
    expect(parseRetentionCommand("metrics 2026-10 --segment Champions")).toEqual({
      ok: true,
      command: { name: "metrics", period: "2026-10", segment: "Champions" },
    });
    expect(parseRetentionCommand("campaign #3")).toEqual({ ok: true, command: { name: "campaign", id: 3 } });
  });
});

describe("Slack text", () => {
  it("strips mentions from questions and turns mrkdwn into plain text for customers", () => {
    expect(questionText("<@U123ABC> how many &lt;Champions&gt;?")).toBe("how many <Champions>?");
    expect(slackToPlain("See <https://shop.test/t/1|tracking> &amp; <https://shop.test> <!here>")).toBe(
      "See tracking (https://shop.test/t/1) & https://shop.test",
    );
    expect(slackToPlain("Ask <@U1>", new Map([["U1", "Anna"]]))).toBe("Ask Anna");
  });
});

describe("reasons in a narrow cell", () => {
  it("keeps whole reasons, counts the rest, and never cuts inside a number", () => {
    expect(reasonsCell(["no purchase for 498 days", "orders shrinking"], 44)).toBe(
      "no purchase for 498 days; orders shrinking",
    );
    expect(reasonsCell(["no purchase for 498 days (usually every 30)", "orders shrinking"], 44)).toBe(
      "no purchase for 498 days (usually every… +1",
    );
    expect(reasonsCell(["no purchase for 498 days", "a long second reason", "third"], 44)).toBe(
      "no purchase for 498 days +2",
    );
    expect(reasonsCell(["a complaint last week about delivery that took 1234 days"], 44)).toBe(
      "a complaint last week about delivery that…",
    );
    expect(reasonsCell([], 44)).toBe("-");
  });
});

describe("p-values", () => {
  it("never prints p = 0.000", () => {
    expect(formatP(0.00004)).toBe("p < 0.001");
    expect(formatP(0.0209)).toBe("p = 0.021");
  });
});
