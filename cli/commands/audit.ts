/** `impgate audit <imp>`: the imp's security events, newest first. What runs is in ../actions/audit.ts. */
import type { Command } from "commander";
import { adminOptions, examples, integer } from "../command.ts";

export function auditCommand(program: Command): void {
  examples(
    adminOptions(
      program
        .command("audit")
        .description("an imp's security events, newest first: auth failures, credentials, rotations, devices")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--limit <n>", "how many events (1-1000)", integer("--limit", 1, 1000), 50),
    ),
    ["impgate audit $IMP", "impgate audit $IMP --limit 200 --json"],
  ).action(async (imp, opts) => (await import("../actions/audit.ts")).audit(imp, opts));
}
