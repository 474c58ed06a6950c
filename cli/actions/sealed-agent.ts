/**
 * The CLI's sealed agent for the e2e actions (./e2e.ts): the agent URL's pin, the caller's
 * credential and sender key, the CLI's TLS trust as the transport, and each sealed step's
 * refusal as one readable line. The sealing itself is caller/sealed.ts.
 */
import { decodeJwt, type JWK } from "jose";
import { type OuterRequest, SealedAgent, SealedCallError, type Transport } from "../../caller/sealed.ts";
import { isSealedError } from "../../protocol/sealed/errors.ts";
import { type SenderKey, senderKey } from "../../protocol/sealed/sender.ts";
import {
  type AccessToken,
  authHeaders,
  type CallerCredential,
  obtainToken,
  readJsonFile,
  splitAgentUrl,
  type TokenOptions,
  tokenHeaders,
} from "../caller-auth.ts";
import { type CredentialFlags, credentialFrom, scopeOption } from "../credential-flags.ts";
import { CliError } from "../errors.ts";
import { agentUrlArgument } from "../hints.ts";
import { httpRequest } from "../http.ts";
import { findPin, readPins, rememberPin } from "../pins.ts";
import { loadCallerTrust, type Trust } from "../profile.ts";

export interface CallFlags extends Omit<CredentialFlags, "key"> {
  /** `events` takes it repeated: an owner key and a caller key. */
  key?: string[] | string;
  senderKey?: string;
  signedHeader?: string[];
}

/** A SealedAgent for the agent URL's pin, authenticated with the given credential, over the CLI's TLS trust. */
export async function sealedAgent(url: string, command: string, flags: CallFlags, options: { needSender: boolean }) {
  const { agentUrl } = splitAgentUrl(agentUrlArgument(url, command));
  const pins = await readPins();
  const pinned = findPin(pins, agentUrl);
  if (!pinned) {
    throw new CliError(
      `no pin for ${agentUrl}: pin the device first, with the fingerprint its admin handed you: impgate e2e pin ${agentUrl} --fingerprint sha256:…`,
    );
  }
  const trust = await loadCallerTrust(flags);
  const keys = [flags.key ?? []].flat();
  if (keys.length > 1) throw new CliError("pass one of --key, --cred-file, --token, --sign-key", 2);
  const cred = await credentialFrom({ ...flags, key: keys[0] });
  let sender: SenderKey | undefined;
  const senderJwk = flags.senderKey
    ? ((await readJsonFile(flags.senderKey, "sender key")) as JWK)
    : cred.kind === "jwt" || cred.kind === "http-signature"
      ? cred.jwk
      : undefined;
  if (senderJwk) sender = await senderKey(senderJwk).catch(() => undefined);
  if (options.needSender && !sender) {
    throw new CliError(
      "a sealed call is signed by the caller's key, which the device lists in e2e.senders: pass --key caller.jwk (or --sign-key, --sender-key)",
      2,
    );
  }
  const transport = cliTransport(trust);
  const headers = outerHeaders(agentUrl, cred, trust, {
    scope: scopeOption(flags.scope),
    dpop: flags.dpop,
    signedHeaders: flags.signedHeader,
  });
  // A pin made with a fingerprint alone learns its imp id from the first statement the pinned key signed.
  const impId = pinned.impId ?? (await statementImp(agentUrl, transport, headers));
  const agent = new SealedAgent({
    agentUrl,
    pin: { impId, pin: pinned.pin, ...(pinned.lastSequence === undefined ? {} : { lastSequence: pinned.lastSequence }) },
    ...(sender ? { sender } : {}),
    headers,
    transport,
  });
  return Object.assign(agent, {
    save: () => rememberPin(agentUrl, { impId, lastSequence: agent.state().lastSequence }),
  });
}

/** Runs one sealed step; the pin's state is saved after it, and its refusal is one readable line. */
export async function sealedStep<T>(agent: SealedAgent & { save(): Promise<void> }, step: () => Promise<T>): Promise<T> {
  try {
    const result = await step();
    await agent.save();
    return result;
  } catch (err) {
    if (isSealedError(err, "ERR_KEY_STATEMENT_IDENTITY_CHANGED")) {
      throw new CliError(
        `REFUSED, nothing sent: the key statement the edge served for ${agent.agentUrl} was not signed by the pinned device. The edge may be substituting keys, or the device was re-provisioned: check its fingerprint out of band before \`impgate e2e pin --force\``,
      );
    }
    if (isSealedError(err)) throw new CliError(`refused: ${err.code}: ${err.message}`);
    if (err instanceof SealedCallError) throw new CliError(err.message);
    throw err;
  }
}

function cliTransport(trust: Trust): Transport {
  return async ({ method, url, headers, body }) => {
    const res = await httpRequest(url, { method, headers, ...(body ? { body } : {}), trust });
    const type = res.headers["content-type"];
    return { status: res.status, contentType: typeof type === "string" ? type : null, body: new Uint8Array(res.body) };
  };
}

/**
 * The headers that authenticate each outer request: a JWT credential's token is fetched once
 * per run (bound to the caller's key with DPoP unless --no-dpop), and a fresh proof made for
 * every request; the other kinds sign or present theirs per request.
 */
function outerHeaders(
  agentUrl: string,
  cred: CallerCredential,
  trust: Trust,
  options: TokenOptions & { signedHeaders?: string[] },
): (request: OuterRequest) => Promise<Record<string, string>> {
  let access: Promise<AccessToken> | undefined;
  return async (request) => {
    if (cred.kind !== "jwt" && cred.kind !== "jwt-secret") return authHeaders(agentUrl, cred, request, trust, options);
    access ??= obtainToken(agentUrl, cred, trust, options);
    return tokenHeaders(await access, request.method, request.url);
  };
}

/** The imp a statement names: only a claim until it verified against the pin (SealedCaller does that next). */
async function statementImp(
  agentUrl: string,
  transport: Transport,
  headers: (request: OuterRequest) => Promise<Record<string, string>>,
): Promise<string> {
  const url = `${agentUrl}/_sealed/key`;
  const res = await transport({ method: "GET", url, headers: await headers({ method: "GET", url, headers: {}, body: new Uint8Array(0) }) });
  if (res.status !== 200)
    throw new CliError(`the key statement: the edge answered ${res.status}: ${new TextDecoder().decode(res.body).slice(0, 200)}`);
  try {
    const sub = decodeJwt(new TextDecoder().decode(res.body)).sub;
    if (typeof sub === "string") return sub;
  } catch {
    // refused below
  }
  throw new CliError("the edge served something that is not a key statement");
}
