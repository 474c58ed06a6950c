/** `impgate tail <imp>`: an imp's live request log. What runs is in ../actions/tail.ts. */
import type { Command } from "commander";
import { adminOptions, examples } from "../command.ts";

export function tailCommand(program: Command): void {
  examples(
    adminOptions(
      program
        .command("tail")
        .description("stream an imp's agent requests as they happen: time, method, path, status, latency, credential")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--status <classes>", "only these statuses: 4xx, 5xx, 404, … (comma-separated)"),
    ),
    ["impgate tail $IMP", "impgate tail $IMP --status 4xx,5xx", "impgate tail $IMP --json | jq .path"],
  ).action(async (imp, opts) => (await import("../actions/tail.ts")).tail(imp, opts));
}
