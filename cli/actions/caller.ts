/** The caller's commands: what runs (the options are in ../commands/caller.ts). */
import { readFile } from "node:fs/promises";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import {
  authHeaders,
  type CallerCredential,
  currentCode,
  loadCallerKey,
  loadCredentialFile,
  obtainToken,
  splitAgentUrl,
} from "../caller-auth.ts";
import { CliError } from "../errors.ts";
import { agentUrlArgument } from "../hints.ts";
import { httpRequest } from "../http.ts";
import { output } from "../output.ts";
import { loadCallerTrust } from "../profile.ts";
import { refuseExisting, writeSecret } from "../secret-files.ts";

interface CredentialFlags {
  key?: string;
  credFile?: string;
  token?: string;
  ca?: string;
  profile?: string;
  json?: boolean;
}

async function credentialFrom(flags: CredentialFlags): Promise<CallerCredential> {
  const given = [flags.key, flags.credFile, flags.token].filter((v) => v !== undefined).length;
  if (given > 1) throw new CliError("pass one of --key, --cred-file, --token", 2);
  if (flags.key) return loadCallerKey(flags.key);
  if (flags.credFile) return loadCredentialFile(flags.credFile);
  if (flags.token) return { kind: "bearer", token: flags.token };
  return { kind: "none" };
}

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

export async function token(url: string, flags: CredentialFlags): Promise<void> {
  const { agentUrl } = splitAgentUrl(agentUrlArgument(url, "impgate token"));
  const cred = await credentialFrom(flags);
  if (cred.kind !== "jwt" && cred.kind !== "jwt-secret")
    throw new CliError("impgate token needs a caller key (--key) or a jwt-secret credential file (--cred-file)", 2);
  const access = await obtainToken(agentUrl, cred, await loadCallerTrust(flags));
  output(flags.json).result({ access_token: access }, [access]);
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
  const trust = await loadCallerTrust(flags);
  Object.assign(headers, await authHeaders(agentUrl, await credentialFrom(flags), body, trust));
  const method = flags.request ?? (flags.data === undefined ? "GET" : "POST");
  if (flags.data !== undefined && !headers["content-type"]) headers["content-type"] = "application/octet-stream";
  const res = await httpRequest(`${agentUrl}${rest}`, {
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
  if (res.status >= 400) throw new CliError(`edge answered ${res.status}`);
}

async function readBody(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
}
