/** `impgate imp …`: create and inspect imps. What runs is in ../actions/imp.ts, loaded when it runs. */
import { type Command, Option } from "commander";
import { MAX_PRESENCE_TIMEOUT_S } from "../../protocol/admin-api.ts";
import { adminOptions, examples, integer } from "../command.ts";
import { impFleetCommands } from "./fleet.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function impCommands(program: Command): void {
  const imp = program.command("imp").description("create imps, show them, change their settings, URL and device key");
  const actions = () => import("../actions/imp.ts");

  examples(
    adminOptions(
      imp
        .command("create")
        .description("register an imp: writes its device config (0600) and prints its agent URL")
        .option("--label <name>", "a name for people; the imp id is what commands take")
        .option("--out <file>", "where to write the device config (default: .impgate/device-<label>.json)")
        .option("--public-key <jwk>", "the device's public key (from `impgate-device keygen` on the device); else a key is made here")
        .option("--forward <url>", "the local service the device forwards requests to (tunnel mode)")
        .option("--device-ca <pem>", "a CA the device pins for the edge's TLS (repeat for a backup); default: the profile's", collect)
        .option("--pin <sha256/…>", "an SPKI pin the device checks (repeat for a backup); default: the profile's", collect)
        .option("--force", "overwrite the device config file if it exists"),
    ),
    [
      "impgate imp create --label garage --out .impgate/device-garage.json",
      "impgate imp create --label garage --public-key device-key.pub.jwk --forward http://127.0.0.1:8080",
    ],
  ).action(async (opts) => (await actions()).create(opts));

  examples(
    adminOptions(imp.command("show").description("the imp, its agent URL and its device's status").argument("<imp>", "the imp id (imp_…)")),
    ["impgate imp show $IMP", "impgate imp show $IMP --json"],
  ).action(async (id, opts) => (await actions()).show(id, opts));

  examples(
    adminOptions(
      imp
        .command("set")
        .description("change an imp's settings (`--no-…` turns one off again)")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--request-timeout <ms>", "how long agent requests wait for the device", integer("--request-timeout", 1))
        .option(
          "--presence-timeout <s>",
          "seconds without a heartbeat after which the device is offline (default 45; at least twice its heartbeat interval; 0: off)",
          integer("--presence-timeout", 0, MAX_PRESENCE_TIMEOUT_S),
        )
        .option("--queue-limit <n>", "how many undelivered messages may wait for the device", integer("--queue-limit", 1))
        .option("--allow-http", "accept plain HTTP on the agent URL (not recommended)")
        .option("--no-allow-http", "HTTPS only (the default)")
        .option("--public", "no caller authentication: anyone with the URL gets in (not recommended)")
        .option("--no-public", "callers must authenticate (the default)")
        .option("--public-apis", "also open _messages, _events and _state to unauthenticated callers (not recommended)")
        .option("--no-public-apis", "the agent's own APIs need a credential (the default, even with --public)")
        .option("--label <name>", "a new name for people")
        .option("--csp-sandbox", "relayed replies carry Content-Security-Policy: sandbox (the device's pages get no scripts, no origin)")
        .option("--no-csp-sandbox", "relayed replies as the device sends them (the default)")
        .addOption(
          new Option(
            "--e2e <mode>",
            "end-to-end sealing: required refuses plaintext (no agent code then), optional takes both, off none",
          ).choices(["required", "optional", "off"]),
        ),
    ),
    [
      "impgate imp set $IMP --request-timeout 10000",
      "impgate imp set $IMP --presence-timeout 60",
      "impgate imp set $IMP --no-public",
      "impgate imp set $IMP --label porch --csp-sandbox",
      "impgate imp set $IMP --e2e required",
    ],
  ).action(async (id, opts) => (await actions()).set(id, opts));

  examples(
    adminOptions(
      imp
        .command("rotate-url")
        .description("give the imp a new agent URL; the old one, and its tokens, stop working at once")
        .argument("<imp>", "the imp id (imp_…)"),
    ),
    ["impgate imp rotate-url $IMP"],
  ).action(async (id, opts) => (await actions()).rotateUrl(id, opts));

  examples(
    adminOptions(
      imp
        .command("revoke-device")
        .description("revoke the device key (a lost device): its socket closes and it cannot connect again")
        .argument("<imp>", "the imp id (imp_…)"),
    ),
    ["impgate imp revoke-device $IMP"],
  ).action(async (id, opts) => (await actions()).revokeDevice(id, opts));

  examples(
    adminOptions(
      imp
        .command("replace-device")
        .description("give the imp a new device key; a device on the old key is disconnected")
        .argument("<imp>", "the imp id (imp_…)")
        .requiredOption("--public-key <jwk>", "the new device's public key (from `impgate-device keygen`)"),
    ),
    ["impgate imp replace-device $IMP --public-key device-key.pub.jwk"],
  ).action(async (id, opts) => (await actions()).replaceDevice(id, opts));

  impFleetCommands(imp);
}
