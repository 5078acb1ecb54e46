import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { newPGlite, openDatabase, wrapPGlite } from "../core/db/client";
import { buildCliBundle, freshCliBundle } from "../jobs/cli-bundle.mjs";
import { blankCluster, buildBlankCluster } from "../core/db/blank-cluster.mjs";
import { applyMigrations } from "../core/db/migrate";
import { postgresUnavailableReason, startPostgres, withClient, type PostgresServer } from "./postgres-server";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the test PostgreSQL server (database name appended), or "" when unavailable. */
    pgServerUrl: string;
    pgUnavailable: string;
    /** A tarball (`dumpDataDir("none")`) of a migrated PGlite data folder; test databases load copies of it. */
    pgliteTemplatePath: string;
    /** The same folder before any migration (a new database, without running initdb again). */
    pgliteBlankPath: string;
    /** The migrated data folder itself, on disk: a `DATA_DIR` for spawned commands is a copy of it. */
    pgliteTemplateFolder: string;
    /** The unmigrated folder on disk. */
    pgliteBlankFolder: string;
  }
}

export const TEMPLATE_DB = "retention_template";

// The migrations applied once here instead of in every test file, to the blank cluster `npm ci`
// made (core/db/blank-cluster.mjs; made here if it is missing, as the product's own new
// databases would find it).
async function pgliteTemplate(
  dir: string,
): Promise<{ template: string; blank: string; folder: string; blankFolder: string }> {
  let cluster = blankCluster();
  if (!cluster) {
    await buildBlankCluster();
    cluster = blankCluster()!;
  }
  // Each database as a tarball (in-memory test databases load it) and as a folder on disk (a
  // spawned command's DATA_DIR is a copy of it: milliseconds, where loading the tarball costs a
  // CPU-second). The blank cluster is the unmigrated database: its bytes, as they are, unpacked
  // into a folder; a copy of that folder, migrated, is the template, which is then dumped.
  const blank = new Uint8Array(await cluster.arrayBuffer());
  const blankFile = path.join(dir, "pglite-blank.tar");
  writeFileSync(blankFile, blank);
  const blankFolder = path.join(dir, "pglite-blank");
  const unpacked = newPGlite(blankFolder, { loadDataDir: new Blob([blank]) });
  await unpacked.waitReady;
  await unpacked.close();
  const folder = path.join(dir, "pglite-template");
  cpSync(blankFolder, folder, { recursive: true });
  const pglite = newPGlite(folder);
  await pglite.waitReady;
  const template = path.join(dir, "pglite-template.tar");
  try {
    await applyMigrations(wrapPGlite(pglite));
    writeFileSync(template, new Uint8Array(await (await pglite.dumpDataDir("none")).arrayBuffer()));
  } finally {
    await pglite.close();
  }
  return { template, blank: blankFile, folder, blankFolder };
}

async function postgresTemplate(): Promise<PostgresServer> {
  const server = await startPostgres();
  try {
    // A plain client for the one statement: the ORM's start is for the migrations.
    await withClient(server.url(), (admin) => admin.query(`CREATE DATABASE ${TEMPLATE_DB}`));
    const template = await openDatabase({ kind: "postgres", url: server.url(TEMPLATE_DB) });
    await applyMigrations(template);
    await template.close();
    return server;
  } catch (error) {
    server.stop();
    throw error;
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "retention-tests-"));
  // Every temporary folder of the run inside this one, removed with it at the end: tests copy
  // 39 MB data folders for the commands they spawn (about 1.5 GB a run), and a folder a test
  // leaves behind would otherwise stay. Workers and the processes they spawn inherit TMPDIR.
  // Open to traverse: the test PostgreSQL server's folder is in it, and runs as another user.
  const previousTmp = process.env.TMPDIR;
  const tmp = path.join(dir, "tmp");
  mkdirSync(tmp, { mode: 0o755 });
  chmodSync(dir, 0o755);
  process.env.TMPDIR = tmp;
  const reason = process.env.SKIP_POSTGRES ? "SKIP_POSTGRES is set" : postgresUnavailableReason();
  if (reason) console.warn(`[tests] PostgreSQL server tests skipped: ${reason}`);
  // Independent: PostgreSQL's initdb runs in other processes while PGlite's runs here.
  const results = await Promise.allSettled([
    pgliteTemplate(dir),
    reason ? Promise.resolve(null) : postgresTemplate(),
    // The `retention` processes tests spawn start from the prebuilt command line, built from
    // the sources as they are now (jobs/retention.mjs falls back to them when it is stale).
    freshCliBundle() ?? buildCliBundle(),
  ] as const);
  const [pglite, server] = results.map((r) => (r.status === "fulfilled" ? r.value : null)) as [
    { template: string; blank: string; folder: string; blankFolder: string } | null,
    PostgresServer | null,
  ];
  const teardown = () => {
    try {
      server?.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (previousTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previousTmp;
    }
  };
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    teardown();
    throw failed.reason;
  }
  project.provide("pgliteTemplatePath", pglite!.template);
  project.provide("pgliteBlankPath", pglite!.blank);
  project.provide("pgliteTemplateFolder", pglite!.folder);
  project.provide("pgliteBlankFolder", pglite!.blankFolder);
  project.provide("pgServerUrl", server ? server.url("") : "");
  project.provide("pgUnavailable", reason ?? "");
  return teardown;
}
