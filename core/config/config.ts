import { availableParallelism } from "node:os";
// The metadata the phone parser uses (libphonenumber-js's default, "min"), without the parser:
// every process reads its configuration, and the whole library is about 300 modules to load.
import phoneMetadata from "libphonenumber-js/min/metadata";
import { z } from "zod";
import type { PhoneRegion } from "../linking/phone";

// Every environment variable the product reads, parsed once at start-up. Core code receives
// the parsed `Config`, never `process.env`. Keep `.env.example` in step with this file
// (a test checks that every variable here is documented there).

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const optionalString = z.string().trim().min(1).optional();
const url = z.string().url();
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "must be an IANA time zone such as Europe/Berlin");
const cron = z.string().regex(/^(\S+\s+){4,5}\S+$/, "must be a cron expression with 5 or 6 fields");

/**
 * SCORING_WORKERS when unset: one worker per core but the one the main thread (reading the
 * features) needs, at least one, at most 8.
 */
export function defaultScoringWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, cores - 1));
}

/** A PostgreSQL memory size as `shared_buffers` takes it. */
export const PGLITE_BUFFERS = /^\d+(kB|MB|GB)$/;

/** The raw variables, with defaults. Names are exactly the environment variable names. */
export const envSchema = z.object({
  // database
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL, or unset for embedded PGlite")
    .optional(),
  DATA_DIR: z.string().default("./data"),
  // The embedded engine's buffer cache (newPGlite's sharedBuffers).
  PGLITE_SHARED_BUFFERS: z
    .string()
    .regex(PGLITE_BUFFERS, "must be a size such as 128MB, 16MB or 512kB")
    .default("128MB"),
  // process
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  // Read by jobs/retention.mjs before anything else: true runs the TypeScript sources through
  // tsx even where the prebuilt command line (jobs/.build) is up to date.
  RETENTION_FROM_SOURCES: bool.default(false),
  BUSINESS_TIME_ZONE: timeZone.default("UTC"),
  DEFAULT_LOCALE: z.enum(["en", "ru"]).default("en"),
  CURRENCY: z.string().length(3).default("USD"),
  BRAND_NAME: z
    .string()
    .trim()
    .min(1)
    .max(60)
    .regex(/^[^{}\n]+$/, "plain text without braces or line breaks")
    .optional(),
  // telegram
  TELEGRAM_BOT_TOKEN: optionalString,
  TELEGRAM_BOT_USERNAME: optionalString,
  TELEGRAM_API_ROOT: url.default("https://api.telegram.org"),
  TELEGRAM_MODE: z.enum(["polling", "webhook"]).default("polling"),
  TELEGRAM_WEBHOOK_URL: url.optional(),
  TELEGRAM_WEBHOOK_SECRET: optionalString,
  TELEGRAM_WEBHOOK_PORT: int(1, 65535).default(8080),
  LINK_TOKEN_TTL_HOURS: int(1, 24 * 90).default(72),
  TELEGRAM_RATE_PER_SECOND: num(0.1, 10_000).default(30),
  TELEGRAM_CHAT_RATE_PER_SECOND: num(0.01, 1000).default(1),
  // the customer's conversation
  CONVERSATION_TIMEOUT_MINUTES: int(1, 24 * 60 * 30).default(60),
  SUPPORT_RESPONSE_HOURS: int(1, 24 * 30).default(24),
  PHONE_DEFAULT_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, "a two-letter country code such as RU or GB")
    .refine((v) => Object.hasOwn(phoneMetadata.countries, v), "a country libphonenumber-js knows")
    .optional(),
  // erasure: the key of the suppression list's digests (at least 32 characters); unset: generated once
  ERASURE_KEY: z.string().trim().min(32, "at least 32 characters (e.g. openssl rand -base64 32)").optional(),
  // slack
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: url.optional(),
  SLACK_PORT: int(1, 65535).default(3000),
  SLACK_STAFF_CHANNEL: optionalString,
  SLACK_STAFF_USERS: optionalString,
  SLACK_STAFF_USERGROUP: optionalString,
  SLACK_TICKETS_CHANNEL: optionalString,
  SLACK_DIGEST_CHANNEL: optionalString,
  SLACK_EVENT_LEASE_SECONDS: int(1, 3600).default(60),
  SLACK_LINK_HOSTS: optionalString,
  ASSISTANT_ATTRIBUTES: optionalString,
  ASSISTANT_TIMEOUT_SECONDS: int(5, 600).default(60),
  FAULT_KILL_AT: optionalString,
  // llm
  OPENAI_API_KEY: optionalString,
  // live feed (POST /v1/orders, /v1/customers, /v1/refunds): comma-separated API keys; unset = off
  INGEST_API_KEYS: optionalString,
  OPENAI_BASE_URL: url.optional(),
  OPENAI_MODEL: z.string().default("gpt-4o-mini"),
  LLM_TIMEOUT_MS: int(1000, 600_000).default(30_000),
  LLM_OFFER_TIMEOUT_MS: int(100, 600_000).default(8000),
  LLM_INTENT_TIMEOUT_MS: int(100, 600_000).default(4000),
  // schedules
  SCHEDULE_TIME_ZONE: timeZone.default("UTC"),
  CRON_SCORE: cron.default("0 3 * * *"),
  CRON_TRAIN: cron.default("0 4 * * 0"),
  CRON_CAMPAIGN: cron.default("0 8 * * *"),
  CRON_DISPATCH: cron.default("* * * * *"),
  CRON_SURVEY_NPS: cron.default("0 11 * * 2"),
  CRON_SURVEY_SERVQUAL: cron.default("0 11 1 * *"),
  CRON_DIGEST: cron.default("0 9 * * 1"),
  CRON_HOUSEKEEPING: cron.default("30 2 * * *"),
  SCHEDULER_ENABLED: bool.default(true),
  // operations: GET /healthz and GET /metrics (off when HTTP_PORT is unset)
  HTTP_PORT: int(1, 65535).optional(),
  HTTP_HOST: z.string().trim().min(1).default("127.0.0.1"),
  // analytics
  CHURN_HORIZON_DAYS: int(7, 730).default(90),
  CLV_HORIZON_DAYS: int(30, 3650).default(365),
  DEFAULT_GROSS_MARGIN: num(0, 1).default(0.3),
  RISK_HIGH: num(0, 1).default(0.7),
  RISK_MEDIUM: num(0, 1).default(0.4),
  UPLIFT_LEARNER_SHRINKAGE: num(0, 1_000_000).default(200),
  SCORING_WORKERS: int(0, 64).optional(),
  // contact policy and delivery
  DISPATCH_BATCH_SIZE: int(1, 10_000).default(200),
  DISPATCH_CONCURRENCY: int(1, 1000).default(32),
  DISPATCH_LEASE_SECONDS: int(4, 3600).default(30),
  QUIET_HOURS_START: int(0, 23).default(21),
  QUIET_HOURS_END: int(0, 23).default(9),
  OFFER_CAP_DAYS: int(0, 365).default(14),
  SURVEY_CAP_DAYS: int(0, 3650).default(90),
  DECLINE_COOLDOWN_DAYS: int(0, 3650).default(60),
  MARKETING_SPACING_HOURS: int(0, 8760).default(24),
  SURVEY_WAVE_SIZE: int(0, 1_000_000).default(500),
  SEND_HOUR_DEFAULT: int(0, 23).default(12),
  SEND_HOUR_PRIOR_EVENTS: num(0, 1000).default(5),
  SEND_HOUR_MAX_HOLD_HOURS: int(0, 168).default(24),
  // demo
  DEMO_CUSTOMERS: int(100, 200_000).default(3000),
  DEMO_SEED: int(0, 2 ** 31).default(42),
});

export type Env = z.infer<typeof envSchema>;

/** Variables whose values are never printed. */
export const SECRET_VARIABLES = [
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_WEBHOOK_SECRET",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "OPENAI_API_KEY",
  "INGEST_API_KEYS",
  "ERASURE_KEY",
] as const satisfies readonly (keyof Env)[];

/** The parsed configuration the rest of the product receives. */
export interface Config {
  env: Env;
  database: { url: string | undefined; dataDir: string; pgliteSharedBuffers: string };
  log: { level: Env["LOG_LEVEL"] };
  business: {
    timeZone: string;
    locale: "en" | "ru";
    currency: string;
    /** The name customers know the business by, in every text; unset: "our shop" in their language. */
    brandName: string | undefined;
  };
  /** The live feed's API keys; empty when the feed is off. */
  ingest: { apiKeys: string[] };
  telegram: {
    token: string | undefined;
    username: string | undefined;
    apiRoot: string;
    mode: "polling" | "webhook";
    webhookUrl: string | undefined;
    webhookSecret: string | undefined;
    webhookPort: number;
    linkTokenTtlHours: number;
    /** One limiter per token for every outgoing call: overall and per chat. */
    ratePerSecond: number;
    chatRatePerSecond: number;
  };
  conversation: { timeoutMinutes: number; supportResponseHours: number };
  /** Phone numbers without a country code are read in this region (ISO 3166 alpha-2). */
  linking: { phoneRegion: PhoneRegion | undefined };
  /**
   * Erasure's suppression list (customers who asked to be forgotten, as keyed digests): its HMAC
   * key (ERASURE_KEY; unset: generated once and kept in the database) and how phones are read.
   */
  erasure: { key: string | undefined; phoneRegion: PhoneRegion | undefined };
  slack: {
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string | undefined;
    port: number;
    staffChannel: string | undefined;
    staffUsers: string[];
    staffUsergroup: string | undefined;
    ticketsChannel: string | undefined;
    digestChannel: string | undefined;
    /** How long the desk holds a claimed staff event before another poster may take it. */
    eventLeaseMs: number;
    /** Hosts links in customer or model text may point to; other links are defanged. */
    linkHosts: string[];
  };
  /** Customer attributes the assistant's model may see (all others are left out). */
  assistant: {
    attributes: string[];
    /** One question's whole answer (every model turn and tool call) ends after this long. */
    timeoutSeconds: number;
  };
  /** Crash tests only: the named point where the process kills itself (SIGKILL). */
  faultKillAt: string | undefined;
  llm: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    model: string;
    timeoutMs: number;
    /** An offer's text by the model is awaited this long, then the template goes. */
    offerTimeoutMs: number;
    /** A customer message's intent by the model is awaited this long, then the keyword rules decide. */
    intentTimeoutMs: number;
  };
  schedule: {
    timeZone: string;
    enabled: boolean;
    cron: {
      score: string;
      train: string;
      campaign: string;
      dispatch: string;
      surveyNps: string;
      surveyServqual: string;
      digest: string;
      housekeeping: string;
    };
  };
  analytics: {
    churnHorizonDays: number;
    clvHorizonDays: number;
    defaultGrossMargin: number;
    riskHigh: number;
    riskMedium: number;
    /** Pseudo-customers the per-customer uplift learner's effective size is weighed against. */
    upliftLearnerShrinkage: number;
    /** Worker threads a scoring run of 100,000 customers or more uses (0: the main thread alone). */
    scoringWorkers: number;
  };
  contact: {
    dispatchBatchSize: number;
    /** Messages one dispatcher renders and sends at once (pacing is the Telegram limiter's). */
    dispatchConcurrency: number;
    /** How long a claim lasts unless renewed; every send is bounded at half of it. */
    dispatchLeaseMs: number;
    quietHoursStart: number;
    quietHoursEnd: number;
    offerCapDays: number;
    surveyCapDays: number;
    declineCooldownDays: number;
    spacingHours: number;
    surveyWaveSize: number;
    /** Each customer's best hour for marketing (core/campaigns/send-hour.ts). */
    sendHour: {
      /** The local hour used when the store has no history of answers or timed purchases. */
      defaultHour: number;
      /** How many of the store's events a customer's own history is weighed against. */
      priorEvents: number;
      /** A marketing message is held for the send hour at most this long after it became due (0: never held). */
      maxHoldHours: number;
    };
  };
  demo: { customers: number; seed: number };
  /** The health and metrics endpoint; `httpPort` undefined: not served. */
  ops: { httpPort: number | undefined; httpHost: string };
}

/** Raised with every problem at once, one line each, so the operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses environment variables into a `Config`. Empty strings count as unset.
 * @throws ConfigError listing every bad variable.
 */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join(".");
        const value = cleaned[name];
        const shown = value === undefined ? "unset" : isSecret(name) ? "value hidden" : JSON.stringify(value);
        return `${name} (${shown}): ${i.message}`;
      }),
    );
  }
  const env = parsed.data;
  const problems: string[] = [];
  if (env.RISK_MEDIUM >= env.RISK_HIGH)
    problems.push(`RISK_MEDIUM (${env.RISK_MEDIUM}) must be below RISK_HIGH (${env.RISK_HIGH})`);
  if (env.TELEGRAM_MODE === "webhook" && !env.TELEGRAM_WEBHOOK_URL)
    problems.push("TELEGRAM_WEBHOOK_URL (unset): required when TELEGRAM_MODE=webhook");
  if (env.TELEGRAM_MODE === "webhook" && !env.TELEGRAM_WEBHOOK_SECRET)
    problems.push("TELEGRAM_WEBHOOK_SECRET (unset): required when TELEGRAM_MODE=webhook");
  if (env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN)
    problems.push(
      "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN (unset): one is required with SLACK_BOT_TOKEN (HTTP events or Socket Mode)",
    );
  if (problems.length) throw new ConfigError(problems);

  return {
    env,
    database: { url: env.DATABASE_URL, dataDir: env.DATA_DIR, pgliteSharedBuffers: env.PGLITE_SHARED_BUFFERS },
    log: { level: env.LOG_LEVEL },
    business: {
      timeZone: env.BUSINESS_TIME_ZONE,
      locale: env.DEFAULT_LOCALE,
      currency: env.CURRENCY,
      brandName: env.BRAND_NAME,
    },
    ingest: {
      apiKeys: (env.INGEST_API_KEYS ?? "")
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
    },
    telegram: {
      token: env.TELEGRAM_BOT_TOKEN,
      username: env.TELEGRAM_BOT_USERNAME,
      apiRoot: env.TELEGRAM_API_ROOT,
      mode: env.TELEGRAM_MODE,
      webhookUrl: env.TELEGRAM_WEBHOOK_URL,
      webhookSecret: env.TELEGRAM_WEBHOOK_SECRET,
      webhookPort: env.TELEGRAM_WEBHOOK_PORT,
      linkTokenTtlHours: env.LINK_TOKEN_TTL_HOURS,
      ratePerSecond: env.TELEGRAM_RATE_PER_SECOND,
      chatRatePerSecond: env.TELEGRAM_CHAT_RATE_PER_SECOND,
    },
    conversation: {
      timeoutMinutes: env.CONVERSATION_TIMEOUT_MINUTES,
      supportResponseHours: env.SUPPORT_RESPONSE_HOURS,
    },
    linking: { phoneRegion: env.PHONE_DEFAULT_REGION as PhoneRegion | undefined },
    erasure: { key: env.ERASURE_KEY, phoneRegion: env.PHONE_DEFAULT_REGION as PhoneRegion | undefined },
    slack: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      port: env.SLACK_PORT,
      staffChannel: env.SLACK_STAFF_CHANNEL,
      staffUsers:
        env.SLACK_STAFF_USERS?.split(",")
          .map((s) => s.trim())
          .filter(Boolean) ?? [],
      staffUsergroup: env.SLACK_STAFF_USERGROUP,
      ticketsChannel: env.SLACK_TICKETS_CHANNEL,
      digestChannel: env.SLACK_DIGEST_CHANNEL,
      eventLeaseMs: env.SLACK_EVENT_LEASE_SECONDS * 1000,
      linkHosts: list(env.SLACK_LINK_HOSTS).map((h) => h.toLowerCase()),
    },
    assistant: { attributes: list(env.ASSISTANT_ATTRIBUTES), timeoutSeconds: env.ASSISTANT_TIMEOUT_SECONDS },
    faultKillAt: env.FAULT_KILL_AT,
    llm: {
      apiKey: env.OPENAI_API_KEY,
      baseUrl: env.OPENAI_BASE_URL,
      model: env.OPENAI_MODEL,
      timeoutMs: env.LLM_TIMEOUT_MS,
      offerTimeoutMs: env.LLM_OFFER_TIMEOUT_MS,
      intentTimeoutMs: env.LLM_INTENT_TIMEOUT_MS,
    },
    schedule: {
      timeZone: env.SCHEDULE_TIME_ZONE,
      enabled: env.SCHEDULER_ENABLED,
      cron: {
        score: env.CRON_SCORE,
        train: env.CRON_TRAIN,
        campaign: env.CRON_CAMPAIGN,
        dispatch: env.CRON_DISPATCH,
        surveyNps: env.CRON_SURVEY_NPS,
        surveyServqual: env.CRON_SURVEY_SERVQUAL,
        digest: env.CRON_DIGEST,
        housekeeping: env.CRON_HOUSEKEEPING,
      },
    },
    analytics: {
      churnHorizonDays: env.CHURN_HORIZON_DAYS,
      clvHorizonDays: env.CLV_HORIZON_DAYS,
      defaultGrossMargin: env.DEFAULT_GROSS_MARGIN,
      riskHigh: env.RISK_HIGH,
      riskMedium: env.RISK_MEDIUM,
      upliftLearnerShrinkage: env.UPLIFT_LEARNER_SHRINKAGE,
      scoringWorkers: env.SCORING_WORKERS ?? defaultScoringWorkers(),
    },
    contact: {
      dispatchBatchSize: env.DISPATCH_BATCH_SIZE,
      dispatchConcurrency: env.DISPATCH_CONCURRENCY,
      dispatchLeaseMs: env.DISPATCH_LEASE_SECONDS * 1000,
      quietHoursStart: env.QUIET_HOURS_START,
      quietHoursEnd: env.QUIET_HOURS_END,
      offerCapDays: env.OFFER_CAP_DAYS,
      surveyCapDays: env.SURVEY_CAP_DAYS,
      declineCooldownDays: env.DECLINE_COOLDOWN_DAYS,
      spacingHours: env.MARKETING_SPACING_HOURS,
      surveyWaveSize: env.SURVEY_WAVE_SIZE,
      sendHour: {
        defaultHour: env.SEND_HOUR_DEFAULT,
        priorEvents: env.SEND_HOUR_PRIOR_EVENTS,
        maxHoldHours: env.SEND_HOUR_MAX_HOLD_HOURS,
      },
    },
    demo: { customers: env.DEMO_CUSTOMERS, seed: env.DEMO_SEED },
    ops: { httpPort: env.HTTP_PORT, httpHost: env.HTTP_HOST },
  };
}

function list(value: string | undefined): string[] {
  return (
    value
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean) ?? []
  );
}

function isSecret(name: string): boolean {
  return (SECRET_VARIABLES as readonly string[]).includes(name);
}

/** Replaces the password in a URL (e.g. a postgres:// connection string) with `***`. */
export function maskUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

/** The configuration as `NAME=value` lines, secrets shown as `***` and URLs without passwords. */
export function describeConfig(config: Config): string[] {
  return Object.keys(envSchema.shape).map((name) => {
    const value = (config.env as Record<string, unknown>)[name];
    if (value === undefined) return `${name}=`;
    if (isSecret(name)) return `${name}=***`;
    const text = String(value);
    return `${name}=${maskUrl(text)}`;
  });
}
