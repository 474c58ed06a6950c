/** `impgate agent …`: an imp's agent code. What runs is in ../actions/agent.ts. */
import type { Command } from "commander";
import { adminOptions, examples, integer } from "../command.ts";

export function agentCommands(program: Command): void {
  const agent = program.command("agent").description("an imp's agent code: write, deploy, inspect, roll back, remove, read its log");
  const actions = () => import("../actions/agent.ts");

  examples(
    agent
      .command("init")
      .description("write a starter agent and its types (impgate-agent.d.ts) into DIR, made if missing")
      .argument("[dir]", "where to write them", ".")
      .option("--ts", "a TypeScript starter (agent.ts) instead of JavaScript")
      .option("--example <name>", "start from an example instead (garage-door)")
      .option("--force", "overwrite files that exist")
      .option("--json", "machine-readable output"),
    ["impgate agent init my-agent", "impgate agent init my-agent --ts", "impgate agent init garage --example garage-door"],
  ).action(async (dir, opts) => (await actions()).init(dir, opts));

  examples(
    adminOptions(
      agent
        .command("deploy")
        .description("check a module and make it the imp's agent, live at once (a .ts file has its types stripped)")
        .argument("<imp>", "the imp id (imp_…)")
        .argument("<file>", "agent.js or agent.ts")
        .option("--note <text>", "a note kept with the version"),
    ),
    ["impgate agent deploy $IMP agent/examples/garage-door.js", "impgate agent deploy $IMP my-agent/agent.ts --note 'door timeout'"],
  ).action(async (imp, file, opts) => (await actions()).deploy(imp, file, opts));

  examples(
    adminOptions(
      agent
        .command("show")
        .description("the active version, stored versions, network allowlist and limits; or a version's code")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--code", "print the code of the active version (or of --version)")
        .option("--version <n>", "with --code: this stored version", integer("--version", 1)),
    ),
    ["impgate agent show $IMP", "impgate agent show $IMP --code --version 2"],
  ).action(async (imp, opts) => (await actions()).show(imp, opts));

  examples(
    adminOptions(
      agent
        .command("rollback")
        .description("make an earlier version active again")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--to <n>", "this version (default: the one before the active one)", integer("--to", 1)),
    ),
    ["impgate agent rollback $IMP", "impgate agent rollback $IMP --to 3"],
  ).action(async (imp, opts) => (await actions()).rollback(imp, opts));

  examples(
    adminOptions(
      agent
        .command("remove")
        .description("remove the agent code: the agent URL tunnels to the device again")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--purge", "delete every stored version too"),
    ),
    ["impgate agent remove $IMP", "impgate agent remove $IMP --purge"],
  ).action(async (imp, opts) => (await actions()).remove(imp, opts));

  examples(
    adminOptions(
      agent
        .command("logs")
        .description("what the agent code wrote (console.*), its failures and deploys")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--limit <n>", "how many lines (1-1000)", integer("--limit", 1, 1000), 100)
        .option("--follow", "keep printing new lines until interrupted"),
    ),
    ["impgate agent logs $IMP", "impgate agent logs $IMP --follow"],
  ).action(async (imp, opts) => (await actions()).logs(imp, opts));

  examples(
    adminOptions(
      agent
        .command("outbound")
        .description("the hosts agent code may reach over HTTPS (none by default); no hosts: show them")
        .argument("<imp>", "the imp id (imp_…)")
        .argument("[hosts...]", "host names, `*.example.com` for subdomains")
        .option("--none", "take all network access away"),
    ),
    ["impgate agent outbound $IMP api.example.com '*.example.org'", "impgate agent outbound $IMP --none"],
  ).action(async (imp, hosts, opts) => (await actions()).outbound(imp, hosts, opts));
}
