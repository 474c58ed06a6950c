/** `impgate login` and `impgate profile …`: which edge the CLI talks to. What runs is in ../actions/profile.ts. */
import type { Command } from "commander";
import { examples } from "../command.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function profileCommands(program: Command): void {
  const actions = () => import("../actions/profile.ts");

  examples(
    program
      .command("login")
      .description("check an edge's admin secret and save it as a profile (in ~/.config/impgate, 0600); it becomes the current one")
      .requiredOption("--edge <url>", "the edge's URL: https://…")
      .option("--admin-secret <secret>", "its admin secret (default: IMPGATE_ADMIN_SECRET)")
      .option("--ca <pem>", "the CA that issued the edge's certificate, if not a public one (copied into the profile)")
      .option("--device-ca <pem>", "a CA devices pin for the edge's TLS (repeat for a backup; default: --ca)", collect)
      .option("--pin <sha256/…>", "an SPKI pin devices check (repeat for a backup)", collect)
      .option("--profile <name>", "the profile's name", "default")
      .option("--json", "machine-readable output"),
    [
      "impgate login --edge https://localhost:8787 --admin-secret $SECRET --ca ca.pem --profile dev",
      "impgate login --edge https://impgate.example.workers.dev --admin-secret $SECRET --profile prod \\",
      "    --device-ca /etc/ssl/certs/GTS_Root_R4.pem --device-ca /etc/ssl/certs/ISRG_Root_X1.pem",
    ],
  ).action(async (opts) => (await actions()).login(opts));

  const profile = program.command("profile").description("the saved profiles: list them, choose the current one, remove one");
  examples(profile.command("list").description("the profiles, the current one marked *").option("--json", "machine-readable output"), [
    "impgate profile list",
  ]).action(async (opts) => (await actions()).list(opts));
  examples(
    profile
      .command("use")
      .description("make a profile the current one (used when a command names none)")
      .argument("<name>", "a profile from `impgate profile list`"),
    ["impgate profile use local"],
  ).action(async (name) => (await actions()).use(name));
  examples(profile.command("remove").description("delete a profile and its copied CA files").argument("<name>", "the profile"), [
    "impgate profile remove staging",
  ]).action(async (name) => (await actions()).remove(name));
}
