// `retention tickets` as an operator runs it without Slack: real processes on an embedded folder.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { openDatabase, resolveDatabaseTarget } from "../../core/db/client";
import { openTicket } from "../../core/tickets/tickets";
import { createMigratedDataDir } from "../../test/helpers/db";

const ROOT = path.resolve(import.meta.dirname, "../..");

function retention(args: string[], dataDir: string) {
  const result = spawnSync("node", ["jobs/retention.mjs", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "silent", DATABASE_URL: "", TELEGRAM_BOT_TOKEN: "", DATA_DIR: dataDir },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

it("lists, shows, answers through the outbox and resolves a ticket", { timeout: 900_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tickets-cli-"));
  await createMigratedDataDir(dataDir);
  const db = await openDatabase(resolveDatabaseTarget(undefined, dataDir));
  let reference: string;
  try {
    const customer = await db.prisma.customer.create({
      data: { externalId: "T1", name: "Olga", telegramChatId: 777n, locale: "ru" },
    });
    ({ reference } = await openTicket(db, {
      customerId: customer.id,
      source: "complaint",
      text: "The kettle leaks",
      attachments: [{ kind: "photo", fileId: "leak-photo" }],
      now: new Date(),
    }));
  } finally {
    await db.close();
  }

  const list = retention(["tickets", "list"], dataDir);
  expect(list.code).toBe(0);
  expect(list.stdout).toContain(`${reference}\topen\tcomplaint`);
  const reply = retention(["tickets", "reply", reference, "We", "are", "sending", "a", "new", "one"], dataDir);
  expect(reply.stdout).toContain("Reply recorded; delivery: sent");
  const show = retention(["tickets", "show", reference.toLowerCase()], dataDir);
  expect(show.stdout).toContain("The kettle leaks");
  expect(show.stdout).toContain("photo leak-photo");
  expect(show.stdout).toContain("We are sending a new one");
  expect(retention(["tickets", "resolve", reference], dataDir).stdout).toContain("Resolved; CSAT request: sent");
  const again = retention(["tickets", "resolve", reference], dataDir);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain("already resolved");
  const unknown = retention(["tickets", "show", "T-99999"], dataDir);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("retention tickets list");

  const after = await openDatabase(resolveDatabaseTarget(undefined, dataDir));
  try {
    const outbox = await after.prisma.outboxMessage.findMany({ orderBy: { id: "asc" } });
    expect(outbox.map((m) => [m.kind, m.status])).toEqual([
      ["ticket_reply", "sent"],
      ["csat_request", "sent"],
    ]);
  } finally {
    await after.close();
  }
});
