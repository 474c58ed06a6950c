/** The caller's commands: what runs (the options are in ../commands/caller.ts). */
import { readFile } from "node:fs/promises";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { authHeaders, currentCode, loadCredentialFile, obtainToken, splitAgentUrl, tokenHeaders } from "../caller-auth.ts";
import { type CredentialFlags, credentialFrom, scopeOption } from "../credential-flags.ts";
import { CliError } from "../errors.ts";
import { agentUrlArgument } from "../hints.ts";
import { httpRequest } from "../http.ts";
import { output } from "../output.ts";
import { loadCallerTrust } from "../profile.ts";
import { refuseExisting, writeSecret } from "../secret-files.ts";

export async function keygen(flags: { out: string; alg: "EdDSA" | "ES256"; force?: boolean; json?: boolean }): Promise<void> {
  const pubPath = `${flags.out.replace(/\.jwk$/, "")}.pub.jwk`;
  // Both checked before either is written: a key is never half replaced.
  await refuseExisting(
    [flags.out, pubPath],
    flags.force,
    "a credential may have been made from it: pass --out for another key, or --force to replace it",
  );
  const { privateKey, publicKey } = await generateKeyPair(flags.alg, {
    crv: flags.alg === "EdDSA" ? "Ed25519" : undefined,
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  await writeSecret(flags.out, `${JSON.stringify(await exportJWK(privateKey))}\n`, flags.force);
  await writeSecret(pubPath, `${JSON.stringify(pub)}\n`, true);
  const credId = await calculateJwkThumbprint(pub);
  output(flags.json).result({ privateKey: flags.out, publicKey: pubPath, credId }, [
    `private key: ${flags.out} (0600; keep it: it never leaves this machine)`,
    `public key:  ${pubPath}`,
    `give the public key to the imp's admin: impgate cred add <imp> --kind jwt --public-key ${pubPath}`,
  ]);
}

interface TokenFlags extends CredentialFlags {
  /** `METHOD URL` (or `METHOD /path` under the agent URL): print the headers of one request, DPoP proof included. */
  dpopProof?: string;
}

export async function token(url: string, flags: TokenFlags): Promise<void> {
  const { agentUrl } = splitAgentUrl(agentUrlArgument(url, "impgate token"));
  const cred = await credentialFrom(flags);
  if (cred.kind !== "jwt" && cred.kind !== "jwt-secret")
    throw new CliError("impgate token needs a caller key (--key) or a jwt-secret credential file (--cred-file)", 2);
  const target = flags.dpopProof === undefined ? undefined : proofTarget(flags.dpopProof, agentUrl);
  if (target && (cred.kind !== "jwt" || flags.dpop === false))
    throw new CliError("--dpop-proof binds the token to a caller key: pass --key", 2);
  const access = await obtainToken(agentUrl, cred, await loadCallerTrust(flags), { scope: scopeOption(flags.scope), dpop: flags.dpop });
  if (!target) {
    output(flags.json).result({ access_token: access.token, token_type: access.type }, [access.token]);
    return;
  }
  // As curl reads a header file (`curl -H @file`): one "Name: value" per line.
  const headers = await tokenHeaders(access, target.method, target.url);
  output(flags.json).result({ access_token: access.token, token_type: access.type, headers }, [
    `Authorization: ${headers.authorization}`,
    ...(headers.dpop ? [`DPoP: ${headers.dpop}`] : []),
  ]);
}

/** `--dpop-proof "POST https://…/agent/<id>/hooks/x"` or `"POST /hooks/x"`: the one request a proof is for. */
function proofTarget(text: string, agentUrl: string): { method: string; url: string } {
  const m = /^([A-Z]{1,16}) +(\S+)$/.exec(text.trim());
  if (!m?.[1] || !m[2])
    throw new CliError(`--dpop-proof takes "METHOD URL" (e.g. "GET ${agentUrl}/hello"), got ${JSON.stringify(text)}`, 2);
  const url = m[2].startsWith("/") ? `${agentUrl}${m[2]}` : m[2];
  if (url !== agentUrl && !url.startsWith(`${agentUrl}/`) && !url.startsWith(`${agentUrl}?`))
    throw new CliError(`--dpop-proof: ${url} is not under ${agentUrl}`, 2);
  return { method: m[1], url };
}

export async function code(flags: { credFile: string; json?: boolean }): Promise<void> {
  const cred = await loadCredentialFile(flags.credFile);
  if (cred.kind !== "totp") throw new CliError(`${flags.credFile} is a ${cred.kind} credential, not totp`, 2);
  const now = currentCode(cred.secret, cred.digits);
  output(flags.json).result({ code: now }, [now]);
}

interface CallFlags extends CredentialFlags {
  request?: string;
  header?: string[];
  data?: string;
  include?: boolean;
  /** Header fields the http-signature credential requires signed (`--signed-header`, repeated). */
  signedHeader?: string[];
  sealed?: boolean;
  senderKey?: string;
}

export async function call(url: string, flags: CallFlags): Promise<void> {
  const { agentUrl, rest } = splitAgentUrl(agentUrlArgument(url, "impgate call"));
  const body =
    flags.data === undefined
      ? new Uint8Array(0)
      : flags.data.startsWith("@")
        ? await readBody(flags.data.slice(1))
        : new TextEncoder().encode(flags.data);
  const headers: Record<string, string> = {};
  for (const h of flags.header ?? []) {
    const i = h.indexOf(":");
    if (i < 1) throw new CliError(`-H takes "Name: value", got ${JSON.stringify(h)}`, 2);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  if (flags.sealed) return (await import("./e2e.ts")).sealedCall(url, flags, body, Object.entries(headers));
  if (flags.senderKey) throw new CliError("--sender-key signs sealed calls: add --sealed", 2);
  const method = flags.request ?? (flags.data === undefined ? "GET" : "POST");
  if (flags.data !== undefined && !headers["content-type"]) headers["content-type"] = "application/octet-stream";
  const target = `${agentUrl}${rest}`;
  const sent = method === "GET" || method === "HEAD" ? new Uint8Array(0) : body;
  const trust = await loadCallerTrust(flags);
  // Last, once the request is what it will be: a signature, a MAC or a DPoP proof covers it.
  const cred = await credentialFrom(flags);
  Object.assign(
    headers,
    await authHeaders(agentUrl, cred, { method, url: target, headers, body: sent }, trust, {
      scope: scopeOption(flags.scope),
      dpop: flags.dpop,
      signedHeaders: flags.signedHeader,
    }),
  );
  const res = await httpRequest(target, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body,
    trust,
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ status: res.status, headers: res.headers, body: res.body.toString("utf8") }, null, 2)}\n`);
  } else {
    if (flags.include) {
      process.stdout.write(`HTTP ${res.status}\n`);
      for (const [k, v] of Object.entries(res.headers))
        for (const one of [v].flat()) if (one !== undefined) process.stdout.write(`${k}: ${one}\n`);
      process.stdout.write("\n");
    }
    process.stdout.write(res.body);
  }
  if (res.status >= 400) throw new CliError(`edge answered ${res.status}${refusalDetail(res.headers["www-authenticate"])}`);
}

/** What a refusal's challenge says (`insufficient_scope`, `invalid_dpop_proof`): worth a user's eye. */
function refusalDetail(challenge: string | string[] | undefined): string {
  const error = /error="([a-z_]+)"/.exec([challenge ?? ""].flat().join(", "))?.[1];
  return error ? ` (${error})` : "";
}

async function readBody(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
}
