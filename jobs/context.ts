// The composition root shared by every entry point: parse configuration once, build the
// logger and open the database. Building is separate from starting anything.
import { ConfigError, loadConfig, type Config } from "../core/config/config";
import { openDatabase, resolveDatabaseTarget, type Database } from "../core/db/client";
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
  options: { config?: Config; checkMigrations?: boolean; now?: () => Date } = {},
): Promise<AppContext> {
  const config = options.config ?? configFromEnv();
  const log = createLogger(config.log.level);
  const db = await openDatabase(resolveDatabaseTarget(config.database.url, config.database.dataDir));
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
