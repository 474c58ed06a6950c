/** `impgate cred …`: caller credentials of an imp. What runs is in ../actions/cred.ts. */
import { type Command, Option } from "commander";
import { adminOptions, examples } from "../command.ts";

export function credCommands(program: Command): void {
  const cred = program.command("cred").description("caller credentials of an imp: add, list, revoke");
  const actions = () => import("../actions/cred.ts");

  examples(
    adminOptions(
      cred
        .command("add")
        .description("add a caller credential; a shared secret is shown once (and written to --out, 0600)")
        .argument("<imp>", "the imp id (imp_…)")
        .addOption(
          new Option("--kind <kind>", "what the caller proves").choices(["jwt", "jwt-secret", "webhook", "totp"]).makeOptionMandatory(),
        )
        .option("--public-key <jwk>", "jwt: the caller's public key (from `impgate caller keygen`)")
        .addOption(new Option("--format <format>", "webhook: the sender's signature format").choices(["github", "stripe", "generic"]))
        .option("--label <label>", "a name for people")
        .option("--out <file>", "write the credential file here (0600); refused if it exists, before anything is made"),
    ),
    [
      "impgate cred add $IMP --kind jwt --public-key .impgate/caller.pub.jwk",
      "impgate cred add $IMP --kind totp --out .impgate/totp.json",
      "impgate cred add $IMP --kind webhook --format github --out .impgate/github.json",
    ],
  ).action(async (imp, opts) => (await actions()).add(imp, opts));

  examples(
    adminOptions(cred.command("list").description("the imp's credentials, revoked ones too").argument("<imp>", "the imp id (imp_…)")),
    ["impgate cred list $IMP"],
  ).action(async (imp, opts) => (await actions()).list(imp, opts));

  examples(
    adminOptions(
      cred
        .command("revoke")
        .description("revoke a credential: it, and every token minted with it, stops working at once")
        .argument("<imp>", "the imp id (imp_…)")
        .argument("<credential>", "the credential id (`impgate cred list` shows them)"),
    ),
    ["impgate cred revoke $IMP totp_Xb2…"],
  ).action(async (imp, credId, opts) => (await actions()).revoke(imp, credId, opts));
}
