import type { TestProject } from "vitest/node";
import { openDatabase } from "../core/db/client";
import { applyMigrations } from "../core/db/migrate";
import { postgresUnavailableReason, startPostgres, type PostgresServer } from "./postgres-server";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the test PostgreSQL server (database name appended), or "" when unavailable. */
    pgServerUrl: string;
    pgUnavailable: string;
  }
}

export const TEMPLATE_DB = "retention_template";
let server: PostgresServer | null = null;

export default async function setup(project: TestProject) {
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
