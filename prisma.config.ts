// Prisma CLI configuration. The CLI runs on WebAssembly engines through a driver adapter, so it
// needs no native binary: PGlite (embedded, the default) or PostgreSQL through node-postgres,
// chosen from DATABASE_URL exactly as the application chooses.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { defineConfig } from "prisma/config";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (url && /^postgres(ql)?:\/\//.test(url)) {
      const { PrismaPg } = await import("@prisma/adapter-pg");
      // The CLI never ends its pool: without this, every command waited out node-postgres's idle
      // timeout (10 s) after its work was done.
      return new PrismaPg({ connectionString: url, allowExitOnIdle: true });
    }
    const { PGlite } = await import("@electric-sql/pglite");
    const { PrismaPGlite } = await import("pglite-prisma-adapter");
    // Only `migrate` and `db` commands (other than `migrate diff` between schema files) touch the
    // database. Anything else (`prisma -v`, which asks for the adapter's name, `validate`, ...)
    // gets a throwaway in-memory instance: it must never open, lock or create the data folder.
    const args = process.argv.slice(2);
    const usesFolder = (args.includes("migrate") || args.includes("db")) && !args.includes("diff");
    if (!usesFolder) return new PrismaPGlite(new PGlite()) as unknown as SqlMigrationAwareDriverAdapterFactory;
    const dir = path.resolve(process.env.DATA_DIR ?? "./data", "pglite");
    mkdirSync(dir, { recursive: true });
    return new PrismaPGlite(new PGlite(dir)) as unknown as SqlMigrationAwareDriverAdapterFactory;
  },
});
