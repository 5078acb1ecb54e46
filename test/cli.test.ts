// The `retention` command as a user runs it: a real process, real environment variables.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { openDatabase, resolveDatabaseTarget } from "../core/db/client";
import { buildProgram, COMMAND_MODULES } from "../jobs/cli";
import { createBlankDataDir, createMigratedDataDir } from "./helpers/db";
import { runRetention as retention } from "./helpers/retention-cli";

function allCommands(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => {
    const name = [...prefix, c.name()];
    return [name, ...allCommands(c, name)];
  });
}

describe("retention CLI", () => {
  it("every command has a description and --help", async () => {
    const program = await buildProgram();
    const commands = allCommands(program);
    expect(commands.map((c) => c.join(" "))).toEqual(
      expect.arrayContaining(["db migrate", "import customers", "import orders", "demo"]),
    );
    for (const name of commands) {
      let cmd: Command = program;
      for (const part of name) cmd = cmd.commands.find((c) => c.name() === part)!;
      expect(cmd.description(), name.join(" ")).not.toBe("");
      expect(cmd.helpInformation()).toMatch(/Usage: retention/);
    }
    const help = await retention(["import", "orders", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--strict/);
    expect(help.stdout).toMatch(/--format <format>/);
  });

  it("loads a command's module by its name, and every module's commands are named in the map", async () => {
    const byModule = new Map<string, string[]>();
    for (const [name, load] of Object.entries(COMMAND_MODULES)) {
      const alone = new Command();
      (await load())(alone);
      const names = alone.commands.map((c) => c.name());
      expect(names, `the module loaded for "${name}"`).toContain(name);
      byModule.set(names.join(" "), names);
    }
    const everyRegistered = [...byModule.values()].flat().sort();
    expect(everyRegistered).toEqual(Object.keys(COMMAND_MODULES).sort());
    const linkOnly = await buildProgram(["node", "retention", "link", "C010"]);
    expect(linkOnly.commands.map((c) => c.name())).toEqual(["link"]);
    const typo = await retention(["lnik", "C010"]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/Did you mean link\?/);
    const inherited = await buildProgram(["node", "retention", "constructor"]);
    expect(inherited.commands.map((c) => c.name())).toContain("link");
  });

  it("refuses an unmigrated database and names the command to run; after it, imports", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
    createBlankDataDir(dataDir); // a new database, initdb already run
    const csv = path.join(dataDir, "customers.csv");
    writeFileSync(csv, "id,name\nx1,Xena\n");
    const refused = await retention(["import", "customers", csv], { DATA_DIR: dataDir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pending.*Run: npm run db:migrate/s);
    expect(refused.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace

    expect((await retention(["db", "migrate"], { DATA_DIR: dataDir })).code).toBe(0);
    const imported = await retention(["import", "customers", csv], { DATA_DIR: dataDir });
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/inserted 1, updated 0, unchanged 0/);
    expect(imported.stdout).toMatch(/rejected: 0 of 1 rows/);
    const missing = await retention(["import", "customers", path.join(dataDir, "nope.csv")], { DATA_DIR: dataDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.csv: no such file/);
  });

  it("checks the purchase totals scoring reads against the purchases, and recounts them with --fix; metrics of that old history name the --to that covers it", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
    const orders = path.join(dataDir, "orders.csv");
    writeFileSync(
      orders,
      "order_id,customer_id,date,amount\no1,k1,2025-01-01,10\no2,k1,2025-01-01,5\no3,k2,2025-02-01,7\n",
    );
    await createMigratedDataDir(dataDir);
    expect((await retention(["import", "orders", orders, "--create-customers"], { DATA_DIR: dataDir })).code).toBe(0);
    expect(await retention(["db", "check-totals"], { DATA_DIR: dataDir })).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/all match/),
    });

    const db = await openDatabase(resolveDatabaseTarget(undefined, dataDir));
    await db.execScript(`UPDATE customer_purchase_stats SET revenue = 0`); // as if written around the triggers
    await db.close();
    expect(await retention(["db", "check-totals"], { DATA_DIR: dataDir })).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/2 customer\(s\) differ/),
    });
    expect(await retention(["db", "check-totals", "--fix"], { DATA_DIR: dataDir })).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/recounted; 0 differ now/),
    });
    expect((await retention(["db", "check-totals"], { DATA_DIR: dataDir })).code).toBe(0);

    // Up to today, the last 90 days hold none of this 2025 history: the warning names the --to.
    const today = await retention(["metrics", "--json"], { DATA_DIR: dataDir });
    expect(today.code).toBe(0);
    expect(JSON.parse(today.stdout)).toMatchObject({ buyers: 0 });
    expect(today.stderr).toMatch(/newest purchase is from 2025-02-01.*`retention metrics --to 2025-02-02`/);
    const then = await retention(["metrics", "--to", "2025-02-02", "--json"], { DATA_DIR: dataDir });
    expect(JSON.parse(then.stdout)).toMatchObject({ buyers: 2 });
    expect(then.stderr).not.toMatch(/warning/);
  });

  it("reads segment names as staff write them and refuses dates that do not exist, changing nothing", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
    await createMigratedDataDir(dataDir);
    const env = { DATA_DIR: dataDir };
    const lower = await retention(["metrics", "--segment", "at risk", "--json"], env);
    expect(lower.code).toBe(0);
    expect(JSON.parse(lower.stdout)).toMatchObject({ segment: "At risk" });
    const typo = await retention(["metrics", "--segment", "Champins"], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean "Champions"?');
    const leap = await retention(["metrics", "--to", "2026-02-30"], env);
    expect(leap.code).toBe(2);
    expect(leap.stderr).toMatch(/--to: "2026-02-30" is not a date that exists/);
    const campaign = await retention(["campaign", "create", "--name", "x", "--offers", "o", "--segments", "Lots"], env);
    expect(campaign.code).toBe(2);
    expect(campaign.stderr).toContain("Segments: Champions");
    expect((await retention(["campaign", "list"], env)).stdout).not.toMatch(/\bx\b/);
  });

  it("stops on bad configuration with one line per problem and no secret in the output", async () => {
    const result = await retention(["config"], {
      RISK_HIGH: "7",
      CRON_SCORE: "often",
      SLACK_BOT_TOKEN: "xoxb-very-secret",
      TELEGRAM_MODE: "carrier-pigeon",
    });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines[0]).toBe("Invalid configuration:");
    expect(
      lines
        .slice(1)
        .map((l) => l.trim().split(" ")[1])
        .sort(),
    ).toEqual(["CRON_SCORE", "RISK_HIGH", "TELEGRAM_MODE"]);
    expect(result.stderr + result.stdout).not.toContain("very-secret");
  });
});
