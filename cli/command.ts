/**
 * commander's Command with impgate's habits: usage errors are one line that says what to
 * do (exit 2), ids that begin with "-" are arguments, and shared option sets.
 */
import { Command, type ErrorOptions, type ParseOptionsResult } from "commander";
import { CliError } from "./errors.ts";
import { optionHint } from "./hints.ts";

/**
 * An id the edge minted (a key thumbprint, an older imp id) may begin with "-": a long
 * token of id characters that is no option of the command is an argument, not an unknown
 * option. Long options begin with "--" and no id does (bar a 43-character thumbprint).
 */
const ID_LIKE = /^(-[A-Za-z0-9_][A-Za-z0-9_-]{14,}|--[A-Za-z0-9_-]{41})$/;

export class CliCommand extends Command {
  override createCommand(name?: string): CliCommand {
    // --help works at every level; a `help` subcommand beside the real ones would only crowd them.
    return new CliCommand(name).helpCommand(false);
  }

  override parseOptions(args: string[]): ParseOptionsResult {
    const result = super.parseOptions(args);
    // Only where arguments end up (a command without subcommands): a parent passes its unknowns down.
    if (this.commands.length > 0 || result.unknown.length === 0) return result;
    const end = result.unknown.indexOf("--");
    const before = end < 0 ? result.unknown : result.unknown.slice(0, end);
    const after = end < 0 ? [] : result.unknown.slice(end + 1);
    if (before.some((a) => a.length > 1 && a.startsWith("-") && !ID_LIKE.test(a))) return result;
    return { operands: [...result.operands, ...before, ...after], unknown: [] };
  }

  /** Every parse error (unknown option or command, missing or extra argument) ends here. */
  override error(message: string, options?: ErrorOptions): never {
    const path = commandPath(this);
    const text = message
      .replace(/^error: /, "")
      .replace(/\n\(Did you mean (.*)\?\)/, " (did you mean $1?)")
      .replace(/\s*\n\s*/g, " ")
      .replace(/\.$/, "");
    const option = options?.code === "commander.unknownOption" ? /'([^']+)'/.exec(text)?.[1] : undefined;
    const hint = option ? optionHint(option) : undefined;
    const where = path.replace(/^impgate ?/, "");
    throw new CliError(hint ?? `${where ? `${where}: ` : ""}${text}; see \`${path} --help\``, 2);
  }
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** `Examples:` after a command's help: each line as a user would type it. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${lines.map((l) => (/^[#\s]/.test(l) ? `  ${l}` : `  $ ${l}`)).join("\n")}\n`);
}

/** --json, and where the edge is: for every command that speaks the admin API. */
export function adminOptions(cmd: Command): Command {
  return cmd
    .option("--json", "machine-readable output")
    .optionsGroup("Edge options (default: the current profile, see `impgate profile list`):")
    .option("--profile <name>", "use this profile (a name from `impgate login`, or a profile file)")
    .option("--edge <url>", "the edge's URL (or IMPGATE_EDGE)")
    .option("--admin-secret <secret>", "the admin secret (or IMPGATE_ADMIN_SECRET)")
    .option("--ca <pem>", "trust this CA certificate for the edge (or IMPGATE_CA)");
}

/** --json, and what TLS trusts: for the commands a caller of an agent URL runs. */
export function callerOptions(cmd: Command): Command {
  return cmd
    .option("--json", "machine-readable output")
    .optionsGroup("TLS options (default: the current profile's CA, else the system's):")
    .option("--ca <pem>", "trust this CA certificate for the agent URL (or IMPGATE_CA)")
    .option("--profile <name>", "trust this profile's CA");
}

/** A whole number option in [min, max]. */
export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new CliError(
        `${name} takes a whole number${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}`,
        2,
      );
    return n;
  };
}
