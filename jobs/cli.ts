// `retention`: the command line. Each command module registers itself on the program; this
// file only wires them and turns errors into exit codes.
//
// A command module is loaded only when its command runs: `retention link C010` does not load the
// Slack app, the LLM client or the charts. Help without a command, or an unknown command, loads
// every module so the listing and the did-you-mean are complete.
import { Command, CommanderError } from "commander";
import { UserError } from "./context";

type Register = (program: Command) => void;

/** Each top-level command and the module that registers it (cli.test.ts checks the two agree). */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<Register>>> = {
  db: async () => (await import("./commands/db.command")).registerDbCommands,
  config: async () => (await import("./commands/db.command")).registerDbCommands,
  import: async () => (await import("./commands/import.command")).registerImportCommands,
  demo: async () => (await import("./commands/demo.command")).registerDemoCommand,
  train: async () => (await import("./commands/analytics.command")).registerAnalyticsCommands,
  score: async () => (await import("./commands/analytics.command")).registerAnalyticsCommands,
  metrics: async () => (await import("./commands/analytics.command")).registerAnalyticsCommands,
  run: async () => (await import("./commands/run.command")).registerRunCommands,
  campaign: async () => (await import("./commands/campaign.command")).registerCampaignCommands,
  start: async () => (await import("./commands/start.command")).registerStartCommand,
  link: async () => (await import("./commands/link.command")).registerLinkCommands,
  tickets: async () => (await import("./commands/tickets.command")).registerTicketsCommands,
  evaluate: async () => (await import("./commands/evaluate.command")).registerEvaluateCommands,
};

/** The program with the modules `argv` needs: the named command's, or all of them. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("retention")
    .description("Proactive customer retention: import, score, campaign, and talk to customers and staff.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const named = argv.slice(2).find((arg) => !arg.startsWith("-"));
  // Own keys only: `retention constructor` is an unknown command, not Object's constructor.
  const loaders =
    named !== undefined && Object.hasOwn(COMMAND_MODULES, named)
      ? [COMMAND_MODULES[named]!]
      : Object.values(COMMAND_MODULES);
  const registered = new Set<Register>();
  for (const load of loaders) {
    const register = await load();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program);
  }
  return program;
}

/** Runs the program and returns the exit code (errors become messages, not stack traces). */
export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof UserError) {
      process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`retention: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
