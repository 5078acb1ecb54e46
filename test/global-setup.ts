import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { postgresUnavailableReason, startPostgres, type PostgresServer } from "./postgres-server";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the test PostgreSQL server (database name appended), or "" when unavailable. */
    pgServerUrl: string;
    pgUnavailable: string;
    /** `prisma migrate diff --from-empty --to-schema-datamodel`: the schema as one SQL script. */
    schemaSql: string;
  }
}

export const TEMPLATE_DB = "retention_template";
let server: PostgresServer | null = null;

// Run once for the whole suite: the Prisma CLI takes seconds to start.
function schemaScript(): string {
  return execFileSync(
    "npx",
    ["prisma", "migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
}

export default async function setup(project: TestProject) {
  project.provide("schemaSql", schemaScript());
  const reason = process.env.SKIP_POSTGRES ? "SKIP_POSTGRES is set" : postgresUnavailableReason();
  if (reason) {
    console.warn(`[tests] PostgreSQL server tests skipped: ${reason}`);
    project.provide("pgServerUrl", "");
    project.provide("pgUnavailable", reason);
    return;
  }
  server = await startPostgres();
  const admin = await openDatabase({ kind: "postgres", url: server.url() });
  await admin.prisma.$executeRawUnsafe(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.close();
  const template = await openDatabase({ kind: "postgres", url: server.url(TEMPLATE_DB) });
  await applyMigrations(template);
  await template.close();
  project.provide("pgServerUrl", server.url(""));
  project.provide("pgUnavailable", "");
  return () => server?.stop();
}
