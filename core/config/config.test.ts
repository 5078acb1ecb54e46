import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultScoringWorkers, describeConfig, envSchema, loadConfig, SECRET_VARIABLES } from "./config";

describe("configuration", () => {
  it("defaults give a working zero-set-up configuration", () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ url: undefined, dataDir: "./data", pgliteSharedBuffers: "128MB" });
    expect(config.telegram.token).toBeUndefined();
    expect(config.contact.quietHoursStart).toBe(21);
    expect(config.analytics.churnHorizonDays).toBe(90);
  });

  it("scoring workers: one per core but one by default, within 1..8; 0 keeps scoring on the main thread", () => {
    expect([1, 2, 4, 16].map((cores) => defaultScoringWorkers(cores))).toEqual([1, 1, 3, 8]);
    expect(loadConfig({}).analytics.scoringWorkers).toBe(defaultScoringWorkers());
    expect(loadConfig({ SCORING_WORKERS: "" }).analytics.scoringWorkers).toBe(defaultScoringWorkers());
    expect(loadConfig({ SCORING_WORKERS: "0" }).analytics.scoringWorkers).toBe(0);
    expect(() => loadConfig({ SCORING_WORKERS: "-1" })).toThrow(ConfigError);
  });

  it("lists every bad variable, one line each, without printing secrets", () => {
    const error = (() => {
      try {
        loadConfig({
          RISK_HIGH: "2",
          LOG_LEVEL: "loud",
          DATABASE_URL: "mysql://x",
          TELEGRAM_API_ROOT: "not a url",
          BUSINESS_TIME_ZONE: "Mars/Base",
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(" ")[0]).sort()).toEqual([
      "BUSINESS_TIME_ZONE",
      "DATABASE_URL",
      "LOG_LEVEL",
      "RISK_HIGH",
      "TELEGRAM_API_ROOT",
    ]);
  });

  it("checks combinations: webhook mode needs a URL and a secret", () => {
    expect(() => loadConfig({ TELEGRAM_MODE: "webhook" })).toThrow(/TELEGRAM_WEBHOOK_URL.*\n.*TELEGRAM_WEBHOOK_SECRET/);
    expect(() => loadConfig({ RISK_HIGH: "0.3", RISK_MEDIUM: "0.5" })).toThrow(/RISK_MEDIUM/);
  });

  it("masks secrets and database passwords when printed", () => {
    const config = loadConfig({
      TELEGRAM_BOT_TOKEN: "123:abc-secret",
      OPENAI_API_KEY: "sk-live",
      DATABASE_URL: "postgres://app:hunter2@db:5432/x",
    });
    const text = describeConfig(config).join("\n");
    expect(text).not.toMatch(/abc-secret|sk-live|hunter2/);
    expect(text).toContain("TELEGRAM_BOT_TOKEN=***");
    expect(text).toContain("DATABASE_URL=postgres://app:***@db:5432/x");
    for (const name of SECRET_VARIABLES) expect(text).toContain(`${name}=`);
  });

  it(".env.example documents every variable with its default", () => {
    const example = readFileSync(path.resolve(import.meta.dirname, "../../.env.example"), "utf8");
    const documented = new Map(
      example
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const defaults = envSchema.parse({});
    for (const name of Object.keys(envSchema.shape)) {
      expect(documented.has(name), `${name} missing from .env.example`).toBe(true);
      const value = (defaults as Record<string, unknown>)[name];
      if (value !== undefined) expect(documented.get(name), `${name} default`).toBe(String(value));
    }
    for (const name of documented.keys())
      expect(Object.keys(envSchema.shape), `${name} is not a known variable`).toContain(name);
  });
});
