import type { Command } from "commander";
import { describeConfig } from "../../core/config/config";
import { applyMigrations, migrationStatus } from "../../core/db/migrate";
import { purchaseStatsDrift, rebuildPurchaseStats, settlePurchaseStats } from "../../core/db/purchase-stats";
import { buildContext, configFromEnv, UserError } from "../context";

export function registerDbCommands(program: Command): void {
  const db = program.command("db").description("Database set-up and status");
  db.command("migrate")
    .description("Apply pending migrations (PGlite folder or PostgreSQL server from DATABASE_URL)")
    .action(async () => {
      const ctx = await buildContext({ checkMigrations: false });
      try {
        const applied = await applyMigrations(ctx.db, { onApplied: (name) => console.log(`applied ${name}`) });
        console.log(
          applied.length
            ? `${applied.length} migration(s) applied to ${ctx.db.describe()}`
            : `${ctx.db.describe()} is up to date`,
        );
      } finally {
        await ctx.close();
      }
    });
  db.command("status")
    .description("Show applied and pending migrations")
    .action(async () => {
      const ctx = await buildContext({ checkMigrations: false });
      try {
        const status = await migrationStatus(ctx.db);
        console.log(`database: ${ctx.db.describe()}`);
        console.log(
          `applied: ${status.applied.length}  pending: ${status.pending.length}  changed: ${status.drifted.length}`,
        );
        for (const name of status.pending) console.log(`  pending ${name}`);
        for (const name of status.drifted) console.log(`  changed ${name}`);
        if (status.pending.length || status.drifted.length) process.exitCode = 1;
      } finally {
        await ctx.close();
      }
    });
  db.command("check-totals")
    .description("Check each customer's purchase totals (read by scoring) against the purchases; --fix recounts them")
    .option("--fix", "recount every customer's totals from the purchases")
    .action(async (options: { fix?: boolean }) => {
      const ctx = await buildContext();
      try {
        const settled = await settlePurchaseStats(ctx.db);
        if (settled)
          console.log(`recounted the totals of ${settled} customer(s) whose purchases changed since the last recount`);
        const differing = await purchaseStatsDrift(ctx.db);
        console.log(
          `purchase totals: ${differing.length ? `${differing.length} customer(s) differ from their purchases` : "all match the purchases"}`,
        );
        if (differing.length && options.fix) {
          await rebuildPurchaseStats(ctx.db);
          console.log(`recounted; ${(await purchaseStatsDrift(ctx.db)).length} differ now`);
        } else if (differing.length) process.exitCode = 1;
      } finally {
        await ctx.close();
      }
    });
  registerNewMigrationCommand(db);
  program
    .command("config")
    .description("Print the configuration in effect, secrets masked")
    .action(() => {
      for (const line of describeConfig(configFromEnv())) console.log(line);
    });
}

/**
 * Writes `prisma/migrations/<timestamp>_<name>/migration.sql` from the difference between the
 * committed schema (git HEAD) and the working copy: `prisma migrate dev` needs a shadow
 * database, which the WebAssembly engines can't provide.
 */
function registerNewMigrationCommand(db: Command): void {
  db.command("new-migration <name>")
    .description("Write a migration from the change to prisma/schema.prisma since the last commit")
    .action(async (name: string) => {
      const { execFileSync } = await import("node:child_process");
      const { mkdirSync, writeFileSync, mkdtempSync } = await import("node:fs");
      const path = await import("node:path");
      const os = await import("node:os");
      if (!/^[a-z0-9_]+$/.test(name)) throw new UserError("migration name: lower-case letters, digits and _ only");
      const before = path.join(mkdtempSync(path.join(os.tmpdir(), "schema-")), "schema.prisma");
      writeFileSync(before, execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { encoding: "utf8" }));
      const sql = execFileSync(
        "npx",
        [
          "prisma",
          "migrate",
          "diff",
          "--from-schema-datamodel",
          before,
          "--to-schema-datamodel",
          "prisma/schema.prisma",
          "--script",
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      if (!sql.trim() || /^-- This is an empty migration/.test(sql.trim()))
        throw new UserError("schema.prisma has not changed since HEAD: no migration written");
      const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
      const dir = path.join("prisma", "migrations", `${stamp}_${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, "migration.sql"), sql);
      console.log(`wrote ${dir}/migration.sql`);
    });
}
