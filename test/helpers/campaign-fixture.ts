// Shared set-up for the dispatcher crash test, the scheduler test and the dispatch benchmark:
// a Telegram emulator on a free loopback port, and a planned campaign of a given size.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import TelegramServer from "telegram-test-api";
import { createCampaign } from "../../core/campaigns/campaign";
import type { ContactPolicy } from "../../core/campaigns/contact-policy";
import { planCampaign } from "../../core/campaigns/plan";
import { insertScoredCustomers, upsertOffers } from "../../core/campaigns/test-fixtures";
import type { Database } from "../../core/db/client";
import { SHORT_RUN_V8_FLAGS } from "../../jobs/v8-flags.mjs";

export const NO_QUIET_HOURS: ContactPolicy = {
  quietHoursStart: 0,
  quietHoursEnd: 0,
  offerCapDays: 14,
  surveyCapDays: 90,
  spacingHours: 24,
  declineCooldownDays: 60,
  businessTimeZone: "UTC",
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** The Bot API emulator, keeping every message for an hour (its default forgets after 60 s). */
export async function startEmulator(): Promise<TelegramServer> {
  const server = new TelegramServer({ port: await freePort(), host: "127.0.0.1", storeTimeout: 3600 });
  await server.start();
  return server;
}

/** Messages the bot sent, per chat id. */
export function messagesPerChat(server: TelegramServer, token: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const m of server.storage.botMessages) {
    if (m.botToken !== token) continue;
    const chat = Number((m.message as { chat_id: number | string }).chat_id);
    counts.set(chat, (counts.get(chat) ?? 0) + 1);
  }
  return counts;
}

/**
 * Scored customers (`optedOutEvery`-th without consent, `unlinkedEvery`-th without a chat) and
 * a planned campaign on them with one offer every customer's EV favours.
 */
export async function plannedCampaign(
  db: Database,
  options: {
    customers: number;
    now: Date;
    optedOutEvery?: number;
    unlinkedEvery?: number;
    controlShare?: number;
    prefix?: string;
  },
): Promise<{ campaignId: number; ids: number[] }> {
  const prefix = options.prefix ?? "k";
  const people = Array.from({ length: options.customers }, (_, i) => ({
    externalId: `${prefix}${i}`,
    churnProbability: 0.6 + (i % 40) / 100,
    clv: 200 + (i % 100),
    linked: options.unlinkedEvery ? i % options.unlinkedEvery !== 1 : true,
    consent: options.optedOutEvery ? i % options.optedOutEvery !== 2 : true,
  }));
  const { ids } = await insertScoredCustomers(db, people, options.now);
  await upsertOffers(db, [{ key: "save-10", cost: 5, saveProbability: 0.2 }]);
  const created = await createCampaign(
    db,
    { name: "crash", offerKeys: ["save-10"], controlShare: options.controlShare ?? 0.1, seed: "crash-seed" },
    { now: options.now },
  );
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const planned = await planCampaign(db, created.value.id, { now: options.now, policy: NO_QUIET_HOURS });
  if (!planned.ok) throw new Error(JSON.stringify(planned.error));
  return { campaignId: created.value.id, ids };
}

/**
 * Node flags for a `retention start` a test runs: it lives seconds, not days, so its engines'
 * WebAssembly stays with the quick compiler as every other command's does (jobs/v8-flags.mjs);
 * V8's optimizing recompilation, which only `start` keeps, cost it about 0.9 s of CPU in its
 * first seconds. Harmless for the other commands, which set the same flags themselves.
 */
export const TEST_NODE_FLAGS = SHORT_RUN_V8_FLAGS;

/** Spawns `retention <args>` as a separate process with the given environment. */
export function spawnRetention(args: string[], env: Record<string, string>): ChildProcess {
  const root = path.resolve(import.meta.dirname, "../..");
  return spawn(process.execPath, [...TEST_NODE_FLAGS, path.join(root, "jobs/retention.mjs"), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}
