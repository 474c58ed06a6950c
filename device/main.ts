/**
 * `impgate-device`: the daemon (run by systemd, see impgate-device.service) and its key tools.
 *   impgate-device --config device.json [--forward URL] [--events-port N] [--log-level L]
 *   impgate-device keygen [--out device-key.jwk]     a key pair, for `impgate imp create --public-key`
 *   impgate-device rekey --config device.json        a new key, for `impgate imp replace-device`
 *   impgate-device e2e add|show|card|rotate …        end-to-end sealing (e2e-cli.ts)
 * Exit codes: refusals.ts (ExitCode), listed in the README.
 */

import { relative } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ConfigError } from "./config.ts";
import { runDaemon } from "./daemon.ts";
import { e2eCommands } from "./e2e-cli.ts";
import { FileExists, keygen, rekey } from "./keys.ts";
import { DAEMON_VERSION } from "./link-options.ts";
import { isLevel, LEVELS, type LogFormat, makeLogger } from "./log.ts";
import { StateFileError } from "./processed-messages.ts";
import { ExitCode } from "./refusals.ts";

/** Thrown by an action after it printed its own line: only the exit code is left to set. */
class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

const say = (line: string) => process.stdout.write(`${line}\n`);
/** A path as the user would type it from here. */
const shown = (path: string) => (path.startsWith("/") ? relative(process.cwd(), path) || path : path);

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("a port number 0-65535 (0 picks a free one)");
  return n;
}

function program(): Command {
  const cmd: Command = new Command("impgate-device")
    .description("Connects this device to its impgate edge over pinned TLS and keeps it connected.")
    .version(DAEMON_VERSION, "-V, --version", "print the daemon's version")
    .helpOption("-h, --help", "show this help")
    .showSuggestionAfterError()
    .enablePositionalOptions()
    .allowExcessArguments()
    .option("-c, --config <file>", "the device config written by `impgate imp create`")
    .option("--forward <url>", "tunnel mode: relay agent requests and messages to this local HTTP service")
    .option("--messages-path <path>", "tunnel mode: agent messages arrive as POST <path>/<name> (default /_impgate/messages)")
    .option("--events-port <port>", "let local programs publish events: POST http://127.0.0.1:<port>/events/<name> (0 picks a port)", port)
    .addOption(new Option("--log-level <level>", "least important lines logged").choices(LEVELS).default("info"))
    .addOption(
      new Option("--log-format <format>", "log lines as JSON (for journald) or text; default text on a terminal, JSON otherwise").choices([
        "json",
        "text",
      ]),
    )
    .addHelpText(
      "after",
      `
Examples:
  impgate-device --config device.json --forward http://127.0.0.1:8080 --events-port 8788
  impgate-device keygen --out device-key.jwk
  impgate-device rekey --config device.json
  impgate-device e2e add --config device.json --sender caller.pub.jwk --recipient owner.pub.jwk

Exit codes: 0 stopped, 1 internal error, 2 bad command line or config, 10 device key revoked or
imp deleted, 11 device key replaced, 12 imp unknown at this edge, 13 edge key not pinned,
14 protocol version unsupported (10-14: retrying cannot help; systemd does not restart).`,
    )
    .action(
      async (opts: {
        config?: string;
        forward?: string;
        messagesPath?: string;
        eventsPort?: number;
        logLevel: string;
        logFormat?: string;
      }) => {
        const [extra] = cmd.args;
        if (extra !== undefined) {
          const near = cmd.commands.find((c) => c.name().slice(0, 3) === extra.slice(0, 3));
          cmd.error(`error: unknown command '${extra}'${near ? `\n(Did you mean ${near.name()}?)` : ""}`);
        }
        if (!opts.config) cmd.error("error: --config <file> is required (impgate-device --help lists everything)");
        const level = isLevel(opts.logLevel) ? opts.logLevel : "info";
        const format: LogFormat = (opts.logFormat as LogFormat | undefined) ?? (process.stdout.isTTY ? "text" : "json");
        const code = await runDaemon(
          { config: opts.config, forward: opts.forward, messagesPath: opts.messagesPath, eventsPort: opts.eventsPort },
          makeLogger({ level, format }),
        );
        throw new Exit(code);
      },
    );

  cmd
    .command("keygen")
    .description("make this device's key pair: the private key stays here, the public half goes to `impgate imp create`")
    .option("-o, --out <file>", "where to write the private key (the public half goes beside it, as .pub.jwk)", "device-key.jwk")
    .addHelpText("after", "\nExample:\n  impgate-device keygen --out device-key.jwk")
    .action(async (opts: { out: string }) => {
      const { privatePath, publicPath } = await keygen(opts.out);
      say(`private key: ${shown(privatePath)} (mode 0600; it never leaves this device)`);
      say(`public key:  ${shown(publicPath)}`);
      say("next, where the impgate CLI runs (copy the public key there):");
      say(`  impgate imp create --public-key ${shown(publicPath)} --out device.json`);
      say(`then put device.json beside ${shown(privatePath)} and run: impgate-device --config device.json`);
    });

  cmd
    .command("rekey")
    .description("give this device a new key; the old one stays in the config until the edge accepts the new one")
    .requiredOption("-c, --config <file>", "the device config")
    .addHelpText(
      "after",
      "\nExample:\n  impgate-device rekey --config device.json\nthen run the `impgate imp replace-device` line it prints; a running daemon switches keys by itself.",
    )
    .action(async (opts: { config: string }) => {
      const result = await rekey(opts.config);
      say(
        result.made
          ? `new device key in ${shown(opts.config)}; the old key is kept there until the edge accepts the new one`
          : `a new key is already waiting in ${shown(opts.config)} for the edge to accept it (nothing new made)`,
      );
      say(`public key: ${shown(result.publicPath)}`);
      say("next, where the impgate CLI runs (copy the public key there):");
      say(`  impgate imp replace-device ${result.impId} --public-key ${shown(result.publicPath)}`);
      say("the daemon (running or started later) switches to the new key once the edge holds it, and then forgets the old one");
    });

  e2eCommands(cmd);

  for (const c of [cmd, ...cmd.commands, ...(cmd.commands.find((c) => c.name() === "e2e")?.commands ?? [])]) {
    c.exitOverride().configureOutput({ outputError: (text, write) => write(`impgate-device: ${text.replace(/^error: /, "")}`) });
  }
  return cmd;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof Exit) return err.code;
    // --help and --version end here too, with exit code 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : ExitCode.usage;
    if (err instanceof FileExists || err instanceof ConfigError) {
      process.stderr.write(`impgate-device: ${err.message}\n`);
      return ExitCode.usage;
    }
    if (err instanceof StateFileError) {
      process.stderr.write(`impgate-device: ${err.message}\n`);
      return ExitCode.internal;
    }
    process.stderr.write(`impgate-device: unexpected error: ${String(err)}\n`);
    return ExitCode.internal;
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code));
