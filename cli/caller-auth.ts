/**
 * The caller's side of each credential kind, for `impgate token` and `impgate call`:
 * the JWT challenge-response, webhook signing and rotating codes.
 */
import { readFile } from "node:fs/promises";
import { calculateJwkThumbprint, importJWK, type JWK, SignJWT } from "jose";
import * as OTPAuth from "otpauth";
import { z } from "zod";
import { signWebhook, TOTP, TOTP_HEADER, TOTP_LEGACY_DIGITS, WEBHOOK_FORMATS } from "../protocol/index.ts";
import { CliError } from "./errors.ts";
import { httpRequest } from "./http.ts";
import type { Trust } from "./profile.ts";

/** A credential file written by `impgate cred add --out`, or a caller's private JWK. */
const CredentialFile = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("jwt-secret"), credId: z.string(), secret: z.string() }),
  z.object({ kind: z.literal("webhook"), credId: z.string(), format: z.enum(WEBHOOK_FORMATS), secret: z.string() }),
  // Files written before codes had 8 digits carry no `digits`: their credentials have 6.
  z.object({ kind: z.literal("totp"), credId: z.string(), secret: z.string(), digits: z.union([z.literal(6), z.literal(8)]).optional() }),
]);
type CredentialFile = z.infer<typeof CredentialFile>;

export type CallerCredential = { kind: "jwt"; jwk: JWK } | CredentialFile | { kind: "bearer"; token: string } | { kind: "none" };

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not JSON`);
  }
}

export async function loadCallerKey(path: string): Promise<CallerCredential> {
  const jwk = (await readJsonFile(path, "caller key")) as JWK;
  if (!jwk || typeof jwk !== "object" || !jwk.d || (jwk.crv !== "Ed25519" && jwk.crv !== "P-256")) {
    throw new CliError(`${path}: expected a private Ed25519 or P-256 JWK (impgate caller keygen makes one)`);
  }
  return { kind: "jwt", jwk };
}

export async function loadCredentialFile(path: string): Promise<CallerCredential> {
  const parsed = CredentialFile.safeParse(await readJsonFile(path, "credential file"));
  if (!parsed.success) throw new CliError(`${path}: not an impgate credential file (impgate cred add --out writes one)`);
  return parsed.data;
}

/** Splits `https://host/agent/<id>/rest?q` into the agent URL (the audience) and the path after it. */
export function splitAgentUrl(raw: string): { agentUrl: string; rest: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`not a URL: ${raw}`);
  }
  const m = /^\/agent\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(url.pathname);
  if (!m) throw new CliError(`not an agent URL (https://<host>/agent/<id>/…): ${raw}`);
  return { agentUrl: `https://${url.host}/agent/${m[1]}`, rest: (m[2] ?? "") + url.search };
}

async function json<T>(res: { status: number; body: Buffer }, what: string): Promise<T> {
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString("utf8"));
  } catch {
    throw new CliError(`${what}: edge answered ${res.status}`);
  }
  if (res.status !== 200)
    throw new CliError(
      `${what} refused (${res.status}): ${(body as { error?: { message?: string } }).error?.message ?? "no reason given"}`,
    );
  return body as T;
}

/** The JWT challenge-response: a short-lived access token for `agentUrl`. */
export async function obtainToken(
  agentUrl: string,
  cred: Extract<CallerCredential, { kind: "jwt" | "jwt-secret" }>,
  trust?: Trust,
): Promise<string> {
  const { nonce } = await json<{ nonce: string }>(await httpRequest(`${agentUrl}/_auth/challenge`, { method: "POST", trust }), "challenge");
  let key: Awaited<ReturnType<typeof importJWK>>;
  let alg: string;
  let iss: string;
  if (cred.kind === "jwt") {
    alg = cred.jwk.crv === "Ed25519" ? "EdDSA" : "ES256";
    key = await importJWK(cred.jwk, alg);
    const { d: _d, ...pub } = cred.jwk;
    iss = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x, ...(pub.y ? { y: pub.y } : {}) });
  } else {
    alg = "HS256";
    key = new TextEncoder().encode(cred.secret);
    iss = cred.credId;
  }
  const assertion = await new SignJWT({ nonce })
    .setProtectedHeader({ alg, typ: "JWT" })
    .setIssuer(iss)
    .setAudience(agentUrl)
    .setIssuedAt()
    .setExpirationTime("30s")
    .sign(key);
  const res = await httpRequest(`${agentUrl}/_auth/token`, {
    method: "POST",
    trust,
    headers: { "content-type": "application/jwt" },
    body: assertion,
  });
  return (await json<{ access_token: string }>(res, "token")).access_token;
}

export function currentCode(secret: string, digits: number = TOTP_LEGACY_DIGITS): string {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: TOTP.algorithm,
    digits,
    period: TOTP.period,
  }).generate();
}

/** The headers that authenticate one request with `cred` (the body matters for webhooks). */
export async function authHeaders(
  agentUrl: string,
  cred: CallerCredential,
  body: Uint8Array,
  trust?: Trust,
): Promise<Record<string, string>> {
  switch (cred.kind) {
    case "none":
      return {};
    case "bearer":
      return { authorization: `Bearer ${cred.token}` };
    case "jwt":
    case "jwt-secret":
      return { authorization: `Bearer ${await obtainToken(agentUrl, cred, trust)}` };
    case "webhook": {
      const [name, value] = await signWebhook(cred.format, cred.secret, body);
      return { [name]: value };
    }
    case "totp":
      return { [TOTP_HEADER]: currentCode(cred.secret, cred.digits) };
  }
}
