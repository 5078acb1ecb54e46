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
      return new PrismaPg({ connectionString: url });
    }
    const { PGlite } = await import("@electric-sql/pglite");
    const { PrismaPGlite } = await import("pglite-prisma-adapter");
    // `migrate diff` between schema files needs no database: don't create or lock a folder.
    if (process.argv.includes("diff"))
      return new PrismaPGlite(new PGlite()) as unknown as SqlMigrationAwareDriverAdapterFactory;
    const dir = path.resolve(process.env.DATA_DIR ?? "./data", "pglite");
    mkdirSync(dir, { recursive: true });
    return new PrismaPGlite(new PGlite(dir)) as unknown as SqlMigrationAwareDriverAdapterFactory;
  },
});
