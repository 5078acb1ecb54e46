import { expect, it } from "vitest";
import { silentLogger } from "../../core/log";
import { defaultTranslator } from "../../core/messaging/locales";
import { MENU_COMMANDS, setCommandMenu } from "./bot";

it("sets the command menu in every language, and the default language's for everyone else", async () => {
  const calls: { commands: { command: string; description: string }[]; language?: string }[] = [];
  // Telegram's side of the call, recorded: the one thing replaced in this test.
  const api = {
    setMyCommands: async (commands: { command: string; description: string }[], other?: { language_code?: string }) => {
      calls.push({ commands, language: other?.language_code });
      return true;
    },
  };
  await setCommandMenu(api as never, defaultTranslator(), "ru", silentLogger);
  expect(calls.map((c) => c.language)).toEqual([undefined, "en", "ru"]);
  for (const call of calls) expect(call.commands.map((c) => c.command)).toEqual([...MENU_COMMANDS]);
  expect(calls[0]!.commands[0]!.description).toBe(calls[2]!.commands[0]!.description);
  expect(calls[1]!.commands.find((c) => c.command === "stop")!.description).toBe("No more offers or surveys");
});
