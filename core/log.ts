import { pino, type Logger } from "pino";

export type { Logger } from "pino";

// Paths pino blanks out wherever they appear in a log record: tokens, secrets, and message
// text that may carry personal data. Log ids, never contents.
const REDACT = [
  "token",
  "*.token",
  "password",
  "*.password",
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "phone",
  "*.phone",
  "email",
  "*.email",
  "text",
  "*.text",
];

/**
 * The one structured logger. JSON lines to stderr, so commands can print results on stdout.
 * Pass `destination` to capture records (tests).
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: "[redacted]" }, base: undefined },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that writes nothing, for library callers and quiet tests. */
export const silentLogger: Logger = pino({ level: "silent" });
