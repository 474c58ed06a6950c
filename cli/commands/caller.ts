/** The caller's commands: a key pair, a token, a code, a whole call. What runs is in ../actions/caller.ts. */
import { type Command, Option } from "commander";
import { callerOptions, examples } from "../command.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

function credentialOptions(cmd: Command): Command {
  return cmd
    .option("--key <jwk>", "a caller's private key (from `impgate caller keygen`)")
    .option("--cred-file <file>", "a credential file (from `impgate cred add --out`)")
    .option("--scope <entry>", "ask for a token narrower than the credential's scope (repeatable): 'GET /hello', events:read", collect)
    .option("--no-dpop", "a plain bearer token, not bound to the key (for a credential made with --no-dpop)");
}

export function callerCommands(program: Command): void {
  const actions = () => import("../actions/caller.ts");
  const caller = program.command("caller").description("a caller's own key pair");

  examples(
    caller
      .command("keygen")
      .description("make a caller key pair: the private key stays here (0600), the public one goes to `cred add`")
      .option("--out <file>", "the private key's file; the public key goes beside it as <name>.pub.jwk", ".impgate/caller.jwk")
      .addOption(new Option("--alg <alg>", "the key's algorithm").choices(["EdDSA", "ES256"]).default("EdDSA"))
      .option("--force", "replace key files that exist (a credential made from the old key keeps working until revoked)")
      .option("--json", "machine-readable output"),
    ["impgate caller keygen", "impgate caller keygen --out .impgate/ci-caller.jwk --alg ES256"],
  ).action(async (opts) => (await actions()).keygen(opts));

  examples(
    callerOptions(
      credentialOptions(
        program
          .command("token")
          .description("a short-lived access token for an agent URL (the JWT challenge-response), bound to --key (DPoP)")
          .argument("<agent-url>", "https://<host>/agent/<id>")
          .option(
            "--dpop-proof <request>",
            'print the headers of one request instead ("METHOD URL", or "METHOD /path"): Authorization and its DPoP proof, as curl -H @file reads them',
          ),
      ),
    ),
    [
      'curl -H @<(impgate token $AGENT --key .impgate/caller.jwk --dpop-proof "GET $AGENT/hello") $AGENT/hello',
      "impgate token $AGENT --key .impgate/caller.jwk --scope events:read    # a token, for a program that makes its own DPoP proofs",
      'curl -H "Authorization: Bearer $(impgate token $AGENT --key .impgate/ci.jwk --no-dpop)" $AGENT/hello    # a --no-dpop credential',
    ],
  ).action(async (url, opts) => (await actions()).token(url, opts));

  examples(
    program
      .command("code")
      .description("the current rotating code of a totp credential (for the X-Imp-Code header)")
      .requiredOption("--cred-file <file>", "the totp credential file (from `impgate cred add --kind totp --out`)")
      .option("--json", "machine-readable output"),
    ['curl -H "X-Imp-Code: $(impgate code --cred-file .impgate/totp.json)" $AGENT/hello'],
  ).action(async (opts) => (await actions()).code(opts));

  examples(
    callerOptions(
      credentialOptions(
        program
          .command("call")
          .description("call an agent URL with any kind of credential, doing the whole exchange")
          .argument("<url>", "the agent URL and path: https://<host>/agent/<id>/<path>")
          .option("-X, --request <method>", "the HTTP method (default: GET, or POST with -d)")
          .option("-H, --header <header>", '"Name: value" (repeatable)', collect)
          .option("-d, --data <data>", "the body, or @file")
          .option("-i, --include", "print the status and headers too")
          .option("--token <token>", "a bearer token from `impgate token --no-dpop`")
          .option("--sign-key <jwk>", "sign the request with an http-signature credential's private key (RFC 9421)")
          .option(
            "--signed-header <name>",
            "with --sign-key: a header the credential requires signed (repeatable; send it with -H)",
            collect,
          )
          .option("--sealed", "seal the request end to end to the pinned device (impgate e2e pin): the edge relays what it cannot read")
          .option("--sender-key <jwk>", "with --sealed: sign with this key instead of --key's (a key in the device's e2e.senders)"),
      ),
    ),
    [
      "impgate call $AGENT/hello --key .impgate/caller.jwk",
      `impgate call $AGENT/hooks/github -d '{"zen":"hi"}' --cred-file .impgate/github.json`,
      `impgate call $AGENT/hooks/build -d '{"ref":"main"}' --sign-key .impgate/signer.jwk`,
      "impgate call --sealed $AGENT/door -X POST -d open --key .impgate/caller.jwk",
    ],
  ).action(async (url, opts) => (await actions()).call(url, opts));
}
