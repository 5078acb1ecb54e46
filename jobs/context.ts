// The composition root shared by every entry point: parse configuration once, build the
// logger and open the database. Building is separate from starting anything.
import { ConfigError, loadConfig, type Config } from "../core/config/config";
import { EmbeddedDatabaseError, openDatabase, resolveDatabaseTarget, type Database } from "../core/db/client";
import { assertMigrated, UnmigratedDatabaseError } from "../core/db/migrate";
import { createLogger, type Logger } from "../core/log";

export interface AppContext {
  config: Config;
  db: Database;
  log: Logger;
  /** The clock every job uses; tests and `--as-of` replace it. */
  now: () => Date;
  close(): Promise<void>;
}

/** Thrown for problems the user must fix; the CLI prints the message alone and exits 2. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** Parses the environment, or throws a `UserError` listing every bad variable. */
export function configFromEnv(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UserError(error.message);
    throw error;
  }
}

/**
 * Opens everything a command needs. Refuses an unmigrated database (unless `migrate` is
 * false, which only `db migrate`/`db status` use).
 */
export async function buildContext(
  options: {
    config?: Config;
    checkMigrations?: boolean;
    now?: () => Date;
    /** The long-running process: wait for a short command holding the embedded folder, then own it. */
    waitForOwner?: boolean;
  } = {},
): Promise<AppContext> {
  const config = options.config ?? configFromEnv();
  const log = createLogger(config.log.level);
  let db: Database;
  try {
    db = await openDatabase(resolveDatabaseTarget(config.database.url, config.database.dataDir), {
      command: commandName(process.argv),
      waitForOwner: options.waitForOwner,
      sharedBuffers: config.database.pgliteSharedBuffers,
      onWait: (holder) =>
        log.warn({ holder }, "the embedded database is in use by a command; waiting for it to finish"),
    });
  } catch (error) {
    if (error instanceof EmbeddedDatabaseError) throw new UserError(error.message);
    throw error;
  }
  if (options.checkMigrations !== false) {
    try {
      await assertMigrated(db);
    } catch (error) {
      await db.close();
      if (error instanceof UnmigratedDatabaseError) throw new UserError(error.message);
      throw error;
    }
  }
  return { config, db, log, now: options.now ?? (() => new Date()), close: () => db.close() };
}

/** "retention import orders" from the process arguments: the command words only, never ids or paths. */
export function commandName(argv: string[]): string {
  const words: string[] = [];
  for (const arg of argv.slice(2, 4)) {
    if (!/^[a-z][a-z-]*$/.test(arg)) break;
    words.push(arg);
  }
  return ["retention", ...words].join(" ");
}
