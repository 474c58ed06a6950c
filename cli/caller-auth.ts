/**
 * The caller's side of each credential kind, for `impgate token` and `impgate call`: the
 * JWT challenge-response (its token bound to the caller's key with DPoP, RFC 9449, unless
 * asked not to), RFC 9421 signed requests, webhook signing and rotating codes.
 */
import { readFile } from "node:fs/promises";
import { calculateJwkThumbprint, importJWK, type JWK, SignJWT } from "jose";
import * as OTPAuth from "otpauth";
import { z } from "zod";
import { createDpopProof } from "../caller/dpop.ts";
import { signRequest } from "../caller/http-signature.ts";
import { type CallerKey, importCallerKey } from "../caller/key.ts";
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

export type CallerCredential =
  | { kind: "jwt"; jwk: JWK }
  /** `--sign-key`: an http-signature credential's private key; each request is signed with it (RFC 9421). */
  | { kind: "http-signature"; jwk: JWK }
  | CredentialFile
  | { kind: "bearer"; token: string }
  | { kind: "none" };

/** How the JWT challenge-response is done: a narrower scope to ask for, and whether to bind the token to the key (DPoP). */
export interface TokenOptions {
  scope?: string[];
  /** Default true: a `jwt` credential's token is bound to its key. */
  dpop?: boolean;
}

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

async function readPrivateKey(path: string): Promise<JWK> {
  const jwk = (await readJsonFile(path, "caller key")) as JWK;
  if (!jwk || typeof jwk !== "object" || !jwk.d || (jwk.crv !== "Ed25519" && jwk.crv !== "P-256")) {
    throw new CliError(`${path}: expected a private Ed25519 or P-256 JWK (impgate caller keygen makes one)`);
  }
  return jwk;
}

export async function loadCallerKey(path: string): Promise<CallerCredential> {
  return { kind: "jwt", jwk: await readPrivateKey(path) };
}

export async function loadSigningKey(path: string): Promise<CallerCredential> {
  return { kind: "http-signature", jwk: await readPrivateKey(path) };
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

/** The public members of a private JWK: what the edge knows, and what its thumbprint (a credential id) is of. */
function publicOf(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) };
}

/** The key a `jwt` caller binds its tokens to (its own), if the token is to be bound. */
export async function dpopKeyOf(cred: CallerCredential, options: TokenOptions = {}): Promise<CallerKey | undefined> {
  return cred.kind === "jwt" && options.dpop !== false ? importCallerKey(cred.jwk) : undefined;
}

export interface AccessToken {
  token: string;
  /** `DPoP` when bound to `key`: every request then needs a proof made with it. */
  type: "Bearer" | "DPoP";
  key?: CallerKey;
}

/** The JWT challenge-response: a short-lived access token for `agentUrl`. */
export async function obtainToken(
  agentUrl: string,
  cred: Extract<CallerCredential, { kind: "jwt" | "jwt-secret" }>,
  trust?: Trust,
  options: TokenOptions = {},
): Promise<AccessToken> {
  const { nonce } = await json<{ nonce: string }>(await httpRequest(`${agentUrl}/_auth/challenge`, { method: "POST", trust }), "challenge");
  let key: Awaited<ReturnType<typeof importJWK>>;
  let alg: string;
  let iss: string;
  if (cred.kind === "jwt") {
    alg = cred.jwk.crv === "Ed25519" ? "EdDSA" : "ES256";
    key = await importJWK(cred.jwk, alg);
    iss = await calculateJwkThumbprint(publicOf(cred.jwk));
  } else {
    alg = "HS256";
    key = new TextEncoder().encode(cred.secret);
    iss = cred.credId;
  }
  const assertion = await new SignJWT({ nonce, ...(options.scope?.length ? { scope: options.scope } : {}) })
    .setProtectedHeader({ alg, typ: "JWT" })
    .setIssuer(iss)
    .setAudience(agentUrl)
    .setIssuedAt()
    .setExpirationTime("30s")
    .sign(key);
  const dpopKey = await dpopKeyOf(cred, options);
  const url = `${agentUrl}/_auth/token`;
  const res = await httpRequest(url, {
    method: "POST",
    trust,
    headers: {
      "content-type": "application/jwt",
      ...(dpopKey ? { dpop: await createDpopProof(dpopKey, { method: "POST", url }) } : {}),
    },
    body: assertion,
  });
  const answer = await json<{ access_token: string; token_type?: string }>(res, "token");
  const bound = answer.token_type === "DPoP";
  return { token: answer.access_token, type: bound ? "DPoP" : "Bearer", ...(bound && dpopKey ? { key: dpopKey } : {}) };
}

/** The headers that present `access` on one request: the token, and a fresh DPoP proof for this method and URL when it is bound. */
export async function tokenHeaders(access: AccessToken, method: string, url: string): Promise<Record<string, string>> {
  if (access.type === "Bearer" || !access.key) return { authorization: `Bearer ${access.token}` };
  return {
    authorization: `DPoP ${access.token}`,
    dpop: await createDpopProof(access.key, { method, url, accessToken: access.token }),
  };
}

export function currentCode(secret: string, digits: number = TOTP_LEGACY_DIGITS): string {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: TOTP.algorithm,
    digits,
    period: TOTP.period,
  }).generate();
}

/** One request to authenticate: where it goes, and what it carries (a signature or webhook MAC covers them). */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The headers that authenticate `request` with `cred`. */
export async function authHeaders(
  agentUrl: string,
  cred: CallerCredential,
  request: OutgoingRequest,
  trust?: Trust,
  options: TokenOptions & { signedHeaders?: string[] } = {},
): Promise<Record<string, string>> {
  switch (cred.kind) {
    case "none":
      return {};
    case "bearer":
      return { authorization: `Bearer ${cred.token}` };
    case "jwt":
    case "jwt-secret":
      return tokenHeaders(await obtainToken(agentUrl, cred, trust, options), request.method, request.url);
    case "http-signature": {
      const key = await importCallerKey(cred.jwk);
      const keyId = await calculateJwkThumbprint(publicOf(cred.jwk));
      for (const name of options.signedHeaders ?? [])
        if (request.headers[name] === undefined)
          throw new CliError(`--signed-header ${name}: the request has no ${name} header (add it with -H)`, 2);
      return signRequest(key, request, { keyId, signedHeaders: options.signedHeaders ?? [] });
    }
    case "webhook": {
      const [name, value] = await signWebhook(cred.format, cred.secret, request.body);
      return { [name]: value };
    }
    case "totp":
      return { [TOTP_HEADER]: currentCode(cred.secret, cred.digits) };
  }
}
