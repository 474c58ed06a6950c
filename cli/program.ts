/**
 * The `impgate` command tree. Only commander and the definitions load here; each command's
 * implementation (and jose, zod, the HTTP client) is imported when that command runs.
 */
import { Argument } from "commander";
import { CliCommand, examples } from "./command.ts";
import { agentCommands } from "./commands/agent.ts";
import { auditCommand } from "./commands/audit.ts";
import { callerCommands } from "./commands/caller.ts";
import { credCommands } from "./commands/cred.ts";
import { e2eCommands } from "./commands/e2e.ts";
import { edgeCommands } from "./commands/edge.ts";
import { fleetCommands } from "./commands/fleet.ts";
import { impCommands } from "./commands/imp.ts";
import { profileCommands } from "./commands/profile.ts";
import { tailCommand } from "./commands/tail.ts";
import { version } from "./root.ts";

export function buildProgram(): CliCommand {
  const program = new CliCommand("impgate");
  program
    .description("the admin CLI of impgate, a device cloud on Cloudflare's edge (and a caller's tools for agent URLs)")
    .version(version(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .helpCommand(false)
    // Options of `impgate` itself come before the command (`agent show --version N` is that command's own).
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });

  program.commandsGroup("Admin (over the admin API of an edge):");
  impCommands(program);
  fleetCommands(program);
  credCommands(program);
  auditCommand(program);
  tailCommand(program);
  agentCommands(program);
  program.commandsGroup("Callers (of an agent URL):");
  callerCommands(program);
  e2eCommands(program);
  program.commandsGroup("Setup:");
  profileCommands(program);
  edgeCommands(program);
  examples(
    program
      .command("completion")
      .description("print a shell completion script for bash or zsh")
      .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh"])),
    ["source <(impgate completion bash)        # in ~/.bashrc", "impgate completion zsh > ~/.zfunc/_impgate  # a folder on $fpath"],
  ).action(async (shell: string) => {
    const { bashCompletion, zshCompletion } = await import("./completion.ts");
    process.stdout.write(shell === "bash" ? bashCompletion(program) : zshCompletion(program));
  });

  examples(program, [
    "impgate login --edge https://impgate.example.workers.dev --admin-secret $SECRET",
    "impgate imp create --label garage --out .impgate/device-garage.json",
    "impgate imp show $IMP",
    "impgate call $AGENT/hello --key .impgate/caller.jwk",
  ]);
  program.addHelpText("after", "\nEvery command has --help. Profiles live in ~/.config/impgate (impgate profile list).\n");
  return program;
}
