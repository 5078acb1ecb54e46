// The Telegram adapter only translates: no database access and no conversation decisions in
// bot/telegram (they live in core/conversation and the other core modules it calls).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    const isTestOnly =
      entry.name.endsWith(".test.ts") || entry.name === "test-fixtures.ts" || entry.name === "test-harness.ts";
    return entry.name.endsWith(".ts") && !isTestOnly ? [full] : [];
  });
}

it("bot/telegram never touches the database itself", () => {
  const offenders = sourceFiles(here).flatMap((file) => {
    const text = readFileSync(file, "utf8");
    const found = [/\.prisma\b/, /\$queryRaw|\$executeRaw/, /generated\/prisma/, /\bPrisma\b\s*[.,}]/].filter((re) =>
      re.test(text),
    );
    return found.length ? [`${path.relative(here, file)}: ${found.map(String).join(", ")}`] : [];
  });
  expect(offenders).toEqual([]);
});
