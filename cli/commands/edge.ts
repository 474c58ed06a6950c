/** `impgate edge init`: the secrets of a deployed edge. What runs is in ../actions/edge.ts. */
import type { Command } from "commander";
import { examples } from "../command.ts";

export function edgeCommands(program: Command): void {
  const edge = program.command("edge").description("set up an edge for `wrangler deploy`");
  examples(
    edge
      .command("init")
      .description("make the edge's three secrets (kept in a 0600 file, reused if it exists) and put them into the Worker")
      .option("--out <file>", "where the secrets are kept", ".impgate/edge-secrets.json")
      .option("--put", "run `wrangler secret put` for each (else print the lines)")
      .option("--wrangler-config <toml>", "the Worker's wrangler.toml (default: this project's)")
      .option("--env <name>", "a wrangler environment")
      .option("--json", "machine-readable output"),
    ["impgate edge init", "impgate edge init --put", "impgate edge init --put --env staging --out .impgate/staging-secrets.json"],
  ).action(async (opts) => (await import("../actions/edge.ts")).init(opts));
}
