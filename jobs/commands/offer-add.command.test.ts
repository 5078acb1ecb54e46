// `retention campaign offer-add` as an operator runs it: the single-title form, and words per
// language (--title-ru / --description-ru) that the offer message then uses. Real processes on
// an embedded folder.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { openDatabase, resolveDatabaseTarget } from "../../core/db/client";
import { offerText } from "../../core/offers/offer-text";
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

const base = ["campaign", "offer-add", "--key", "winback-15", "--kind", "percent_off", "--value", "15", "--cost", "4"];

it("adds an offer in one language for all, then its Russian words, and refuses a description without a title", async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "offer-add-cli-"));
  await createMigratedDataDir(dataDir);

  const single = retention([...base, "--title", "15% off your next order"], dataDir);
  expect(single).toMatchObject({ code: 0, stdout: "offer winback-15 saved\n" });
  const both = retention(
    [
      ...base,
      "--title",
      "15% off your next order",
      "--description",
      "Valid on everything except gift cards.",
      "--title-ru",
      "скидка 15% на следующий заказ",
      "--description-ru",
      "Действует на всё, кроме подарочных карт.",
    ],
    dataDir,
  );
  expect(both).toMatchObject({ code: 0, stdout: "offer winback-15 saved (own words in ru)\n" });
  expect(retention(["campaign", "offers"], dataDir).stdout).toContain(
    "15% off your next order  [ru] скидка 15% на следующий заказ",
  );
  const bad = retention([...base, "--title", "x", "--description-ru", "без названия"], dataDir);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--description-ru needs --title-ru");

  const db = await openDatabase(resolveDatabaseTarget(undefined, dataDir));
  try {
    const offer = await db.prisma.offer.findUniqueOrThrow({ where: { key: "winback-15" } });
    expect(offerText(offer, "ru")).toEqual({
      title: "скидка 15% на следующий заказ",
      description: "Действует на всё, кроме подарочных карт.",
    });
    expect(offerText(offer, "en")).toEqual({
      title: "15% off your next order",
      description: "Valid on everything except gift cards.",
    });
  } finally {
    await db.close();
  }
});
