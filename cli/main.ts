/**
 * `impgate`: the admin CLI over the admin API, and a caller's tools for agent URLs.
 * bin/impgate.js runs this (as a bundle, in one Node process); `impgate --help` lists the commands.
 */
import { CommanderError } from "commander";
import { CliError } from "./errors.ts";
import { buildProgram } from "./program.ts";

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; help shown because a command group was given no command is a usage error.
      return err.code === "commander.help" ? 2 : err.exitCode;
    }
    if (err instanceof CliError) {
      process.stderr.write(`impgate: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`impgate: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

// Exit at once: keep-alive sockets would hold the process open for seconds (stdout to a pipe or file is synchronous on Linux).
void run(process.argv.slice(2)).then((code) => process.exit(code));
