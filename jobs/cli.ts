// `retention`: the command line. Each command module registers itself on the program; this
// file only wires them and turns errors into exit codes.
import { Command, CommanderError } from "commander";
import { UserError } from "./context";
import { registerDbCommands } from "./commands/db.command";
import { registerImportCommands } from "./commands/import.command";
import { registerDemoCommand } from "./commands/demo.command";
import { registerAnalyticsCommands } from "./commands/analytics.command";
import { registerRunCommands } from "./commands/run.command";
import { registerStartCommand } from "./commands/start.command";
import { registerLinkCommands } from "./commands/link.command";
import { registerTicketsCommands } from "./commands/tickets.command";
import { registerEvaluateCommands } from "./commands/evaluate.command";

export function buildProgram(): Command {
  const program = new Command("retention")
    .description("Proactive customer retention: import, score, campaign, and talk to customers and staff.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerDbCommands(program);
  registerImportCommands(program);
  registerDemoCommand(program);
  registerAnalyticsCommands(program);
  registerRunCommands(program);
  registerStartCommand(program);
  registerLinkCommands(program);
  registerTicketsCommands(program);
  registerEvaluateCommands(program);
  return program;
}

/** Runs the program and returns the exit code (errors become messages, not stack traces). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
