/** `impgate cred …`: caller credentials of an imp. What runs is in ../actions/cred.ts. */
import { type Command, Option } from "commander";
import { adminOptions, examples } from "../command.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** What a credential may do: taken by `add` and `set` alike. */
function constraintOptions(cmd: Command, setting: boolean): Command {
  return cmd
    .option(
      "--scope <entry>",
      `what it may do (repeatable): "METHOD /path" on the relay (* for any method, /* one segment, /** the rest) or an agent API: messages:write, messages:read, events:read, state:read, state:write, sealed${setting ? "; replaces the scope" : "; default: the relay only, * /**"}`,
      collect,
    )
    .option(
      "--expires <when>",
      `when it stops working: 12h, 30d, 2w, a date (2027-01-01) or a date-time${setting ? "; never lifts it" : ""}`,
    )
    .option("--rate <rate>", `its own rate limit: <count>/<s|m|h|d>, e.g. 30/m${setting ? "; none lifts it" : ""}`)
    .option(
      "--from <range>",
      `client addresses it may be used from (repeatable): 203.0.113.0/24, 2001:db8::/32${setting ? "; anywhere lifts it" : ""}`,
      collect,
    )
    .option(
      "--dpop",
      "jwt: its access tokens are bound to the caller's key, each request carries a DPoP proof (RFC 9449)" +
        (setting ? "" : "; the default"),
    )
    .option("--no-dpop", "jwt: plain bearer tokens")
    .option("--signed-header <name>", "http-signature: a header field every signature must also cover (repeatable)", collect)
    .option("--label <label>", "its name, for people");
}

export function credCommands(program: Command): void {
  const cred = program.command("cred").description("caller credentials of an imp: add, list, set, revoke");
  const actions = () => import("../actions/cred.ts");

  examples(
    adminOptions(
      constraintOptions(
        cred
          .command("add")
          .description("add a caller credential; a shared secret is shown once (and written to --out, 0600)")
          .argument("<imp>", "the imp id (imp_…)")
          .addOption(
            new Option("--kind <kind>", "what the caller proves")
              .choices(["jwt", "jwt-secret", "webhook", "totp", "http-signature"])
              .makeOptionMandatory(),
          )
          .option("--public-key <jwk>", "jwt, http-signature: the caller's public key (from `impgate caller keygen`)")
          .addOption(new Option("--format <format>", "webhook: the sender's signature format").choices(["github", "stripe", "generic"])),
        false,
      ).option("--out <file>", "write the credential file here (0600); refused if it exists, before anything is made"),
    ),
    [
      "impgate cred add $IMP --kind jwt --public-key .impgate/caller.pub.jwk --scope 'GET /hello'",
      "impgate cred add $IMP --kind webhook --format github --scope 'POST /hooks/github' --expires 90d --rate 30/m --out .impgate/github.json",
      "impgate cred add $IMP --kind http-signature --public-key .impgate/signer.pub.jwk --scope 'POST /hooks/build' --from 203.0.113.0/24",
      "impgate cred add $IMP --kind totp --scope events:read --out .impgate/totp.json",
    ],
  ).action(async (imp, opts) => (await actions()).add(imp, opts));

  examples(
    adminOptions(
      cred
        .command("list")
        .description("the imp's credentials (revoked ones too): scope, expiry, rate, ranges")
        .argument("<imp>", "the imp id (imp_…)"),
    ),
    ["impgate cred list $IMP"],
  ).action(async (imp, opts) => (await actions()).list(imp, opts));

  examples(
    adminOptions(
      constraintOptions(
        cred
          .command("set")
          .description("change what a credential may do: at once, also for tokens minted before (audited)")
          .argument("<imp>", "the imp id (imp_…)")
          .argument("<credential>", "the credential id (`impgate cred list` shows them)"),
        true,
      ),
    ),
    [
      "impgate cred set $IMP wh_Xb2… --scope 'POST /hooks/github' --scope events:read",
      "impgate cred set $IMP wh_Xb2… --expires never --rate none --from anywhere",
    ],
  ).action(async (imp, credId, opts) => (await actions()).set(imp, credId, opts));

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
