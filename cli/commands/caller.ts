/**
 * The caller's commands:
 *   impgate caller keygen [--out caller.jwk] [--alg EdDSA|ES256]
 *   impgate token <agent-url> (--key caller.jwk | --cred-file cred.json)
 *   impgate code --cred-file totp.json
 *   impgate call <agent-url>[/path] [-X METHOD] [-H "Name: value"]… [-d DATA|@file] [--key … | --cred-file … | --token …] [-i]
 */
import { readFile, writeFile } from "node:fs/promises";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { parseArgs } from "../args.ts";
import {
  authHeaders,
  type CallerCredential,
  currentCode,
  loadCallerKey,
  loadCredentialFile,
  obtainToken,
  splitAgentUrl,
} from "../caller-auth.ts";
import { CliError, usage } from "../errors.ts";
import { httpRequest } from "../http.ts";
import type { Output } from "../output.ts";
import { loadCallerCa } from "../profile.ts";

export const CALLER_USAGE = `impgate caller keygen [--out caller.jwk] [--alg EdDSA|ES256]
impgate token <agent-url> (--key caller.jwk | --cred-file cred.json)
impgate code --cred-file totp.json
impgate call <agent-url>[/path] [-X METHOD] [-H "Name: value"]... [-d DATA|@file]
             [--key caller.jwk | --cred-file cred.json | --token TOKEN] [-i]`;

const CALLER_OPTIONS = {
  key: { type: "string" },
  "cred-file": { type: "string" },
  token: { type: "string" },
  ca: { type: "string" },
  profile: { type: "string" },
  json: { type: "boolean" },
} as const;

async function credentialFrom(values: { key?: string; "cred-file"?: string; token?: string }): Promise<CallerCredential> {
  const given = [values.key, values["cred-file"], values.token].filter((v) => v !== undefined).length;
  if (given > 1) throw usage("pass one of --key, --cred-file, --token");
  if (values.key) return loadCallerKey(values.key);
  if (values["cred-file"]) return loadCredentialFile(values["cred-file"]);
  if (values.token) return { kind: "bearer", token: values.token };
  return { kind: "none" };
}

export async function callerKeygen(argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: "string", default: "caller.jwk" },
      alg: { type: "string", default: "EdDSA" },
      json: { type: "boolean" },
      profile: { type: "string" },
    },
  });
  if (values.alg !== "EdDSA" && values.alg !== "ES256") throw usage("--alg is EdDSA or ES256");
  const { privateKey, publicKey } = await generateKeyPair(values.alg, {
    crv: values.alg === "EdDSA" ? "Ed25519" : undefined,
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const outPath = values.out;
  const pubPath = `${outPath.replace(/\.jwk$/, "")}.pub.jwk`;
  try {
    await writeFile(outPath, `${JSON.stringify(await exportJWK(privateKey))}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    throw new CliError((err as NodeJS.ErrnoException).code === "EEXIST" ? `${values.out} exists` : `cannot write ${values.out}`);
  }
  await writeFile(pubPath, `${JSON.stringify(pub)}\n`);
  const credId = await calculateJwkThumbprint(pub);
  out.result({ privateKey: values.out, publicKey: pubPath, credId }, [
    `private key: ${values.out} (keep it; it never leaves this machine)`,
    `public key:  ${pubPath}`,
    `give the public key to the imp's admin: impgate cred add <imp> --kind jwt --public-key ${pubPath}`,
  ]);
}

export async function tokenCommand(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: CALLER_OPTIONS });
  if (positionals.length !== 1) throw usage("usage: impgate token <agent-url> (--key caller.jwk | --cred-file cred.json)");
  const cred = await credentialFrom(values);
  if (cred.kind !== "jwt" && cred.kind !== "jwt-secret")
    throw usage("impgate token needs a caller key (--key) or a jwt-secret credential file");
  const { agentUrl } = splitAgentUrl(positionals[0] ?? "");
  const token = await obtainToken(agentUrl, cred, await loadCallerCa(values));
  out.result({ access_token: token }, [token]);
}

export async function codeCommand(argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { "cred-file": { type: "string" }, json: { type: "boolean" }, profile: { type: "string" } },
  });
  if (!values["cred-file"]) throw usage("usage: impgate code --cred-file totp.json");
  const cred = await loadCredentialFile(values["cred-file"]);
  if (cred.kind !== "totp") throw usage(`${values["cred-file"]} is a ${cred.kind} credential, not totp`);
  const code = currentCode(cred.secret);
  out.result({ code }, [code]);
}

export async function callCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CALLER_OPTIONS,
      request: { type: "string", short: "X" },
      header: { type: "string", short: "H", multiple: true },
      data: { type: "string", short: "d" },
      include: { type: "boolean", short: "i" },
    },
  });
  if (positionals.length !== 1) throw usage(`usage: ${CALLER_USAGE.split("\n").slice(3).join("\n")}`);
  const { agentUrl, rest } = splitAgentUrl(positionals[0] ?? "");
  const body =
    values.data === undefined
      ? new Uint8Array(0)
      : values.data.startsWith("@")
        ? await readBody(values.data.slice(1))
        : new TextEncoder().encode(values.data);
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(":");
    if (i < 1) throw usage(`-H takes "Name: value", got ${JSON.stringify(h)}`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const ca = await loadCallerCa(values);
  Object.assign(headers, await authHeaders(agentUrl, await credentialFrom(values), body, ca));
  const method = values.request ?? (values.data === undefined ? "GET" : "POST");
  if (values.data !== undefined && !headers["content-type"]) headers["content-type"] = "application/octet-stream";
  const res = await httpRequest(`${agentUrl}${rest}`, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body,
    ca,
  });
  if (values.include) {
    process.stdout.write(`HTTP ${res.status}\n`);
    for (const [k, v] of Object.entries(res.headers))
      for (const one of [v].flat()) if (one !== undefined) process.stdout.write(`${k}: ${one}\n`);
    process.stdout.write("\n");
  }
  process.stdout.write(res.body);
  if (res.status >= 400) throw new CliError(`edge answered ${res.status}`);
}

async function readBody(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
}
