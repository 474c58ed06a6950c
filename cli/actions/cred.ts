/** `impgate cred …`: what runs. Secrets are shown once, at creation, and written only where --out says. */
import { readFile } from "node:fs/promises";
import type { AddedCredential, CredentialKind, CredentialView } from "../../protocol/admin-api.ts";
import { ConstraintError, parseCidr, parseExpires, parseRate, parseScope } from "../../protocol/index.ts";
import { AdminClient } from "../admin-client.ts";
import { readJsonFile } from "../caller-auth.ts";
import { CliError } from "../errors.ts";
import { impId } from "../hints.ts";
import { type AdminFlags, output } from "../output.ts";
import { claim, exists } from "../secret-files.ts";

interface ConstraintFlags extends AdminFlags {
  scope?: string[];
  expires?: string;
  rate?: string;
  from?: string[];
  dpop?: boolean;
  signedHeader?: string[];
  label?: string;
}

interface AddFlags extends ConstraintFlags {
  kind: CredentialKind;
  publicKey?: string;
  format?: string;
  out?: string;
}

/**
 * The constraint flags as the API takes them, each checked here first with the edge's own
 * parsers, so a typo is one line (exit 2) before anything is sent. `set` reads the words
 * that lift a limit: `--expires never`, `--rate none`, `--from anywhere`.
 */
function constraints(flags: ConstraintFlags, setting: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  try {
    if (flags.scope) body.scope = parseScope(flags.scope) && flags.scope;
    if (flags.expires !== undefined) {
      if (flags.expires === "never" && !setting) throw new CliError("--expires never: a new credential without --expires never expires", 2);
      parseExpires(flags.expires, Date.now());
      body.expires = flags.expires;
    }
    if (flags.rate !== undefined) {
      parseRate(flags.rate);
      body.rate = flags.rate;
    }
    if (flags.from) {
      if (flags.from.includes("anywhere")) {
        if (flags.from.length > 1 || !setting) throw new CliError("--from anywhere stands alone, and only with cred set", 2);
        body.from = null;
      } else {
        body.from = flags.from.map((r) => parseCidr(r).text);
      }
    }
  } catch (err) {
    if (err instanceof ConstraintError) throw new CliError(optionMessage(err), 2);
    throw err;
  }
  if (flags.dpop !== undefined) body.dpop = flags.dpop;
  if (flags.signedHeader) body.signedHeaders = flags.signedHeader;
  if (flags.label) body.label = flags.label;
  return body;
}

/** A parser's one line, naming the option: `--scope "post /x": methods are upper case (POST)`. */
function optionMessage(err: ConstraintError): string {
  return err.message.startsWith("scope ") ? `--${err.message}` : err.message;
}

export async function add(id: string, flags: AddFlags): Promise<void> {
  impId(id, "impgate cred add");
  const body: Record<string, unknown> = { kind: flags.kind, ...constraints(flags, false) };
  if (flags.dpop !== undefined && flags.kind !== "jwt")
    throw new CliError("--dpop / --no-dpop are for --kind jwt: only it has tokens to bind", 2);
  if (flags.signedHeader && flags.kind !== "http-signature") throw new CliError("--signed-header is for --kind http-signature", 2);
  if (flags.kind === "jwt" || flags.kind === "http-signature") {
    if (!flags.publicKey) throw new CliError(`--kind ${flags.kind} needs --public-key (impgate caller keygen makes one)`, 2);
    if (flags.out) throw new CliError(`--out is for shared secrets; a ${flags.kind} caller keeps its own key`, 2);
    body.publicJwk = await readJsonFile(flags.publicKey, "public key");
  } else if (flags.kind === "webhook") {
    if (!flags.format) throw new CliError("--kind webhook needs --format github|stripe|generic", 2);
    body.format = flags.format;
  }
  const client = await AdminClient.from(flags);
  // The file is claimed before the credential exists: a re-run refuses here, and no secret is ever made with nowhere to go.
  const file = flags.out ? await claim(flags.out, false, await replaceAdvice(flags.out, id)) : undefined;
  let created: AddedCredential;
  try {
    created = await client.call<AddedCredential>("POST", `/imps/${encodeURIComponent(id)}/credentials`, body);
  } catch (err) {
    await file?.release();
    throw err;
  }
  const c = created.credential;
  await file?.fill(
    `${JSON.stringify({ kind: c.kind, credId: c.id, secret: created.secret, ...(c.format ? { format: c.format } : {}), ...(c.digits ? { digits: c.digits } : {}) }, null, 2)}\n`,
  );
  const lines = [`added ${c.kind} credential ${c.id} (${c.label})`, `  ${constraintsLine(c)}`];
  if (created.secret) lines.push(`secret: ${created.secret}    (shown once; it is not stored anywhere you can read it back)`);
  if (created.header) lines.push(`the sender signs into the ${created.header} header`);
  if (created.otpauthUri) lines.push(`authenticator URI: ${created.otpauthUri}`);
  if (flags.out) lines.push(`credential file: ${flags.out} (0600; use it with impgate call --cred-file)`);
  if (c.kind === "http-signature")
    lines.push(`sign requests with its private key: impgate call <url> --sign-key <key.jwk> (keyid ${c.id})`);
  output(flags.json).result(created, lines);
}

/** What to do about an --out file that exists: it names the credential it holds, which is still live. */
async function replaceAdvice(path: string, imp: string): Promise<string> {
  if (!(await exists(path))) return "choose another --out";
  try {
    const { credId } = JSON.parse(await readFile(path, "utf8")) as { credId?: unknown };
    if (typeof credId === "string")
      return `it holds credential ${credId}, which still works: keep using it, or revoke it (impgate cred revoke ${imp} ${credId}), delete the file and run this again`;
  } catch {
    // not a credential file: the general advice
  }
  return "choose another --out, or delete it and run this again";
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

/** Its status: active, revoked or expired (as the edge would refuse it). */
function status(c: CredentialView, now = Date.now()): string {
  if (c.revokedAt) return `revoked ${iso(c.revokedAt)}`;
  if (c.expiresAt !== undefined && now >= c.expiresAt) return `expired ${iso(c.expiresAt)}`;
  return "active";
}

/** What it may do, on one line. */
function constraintsLine(c: CredentialView): string {
  return [
    `scope: ${c.scope.join(", ")}`,
    ...(c.expiresAt !== undefined ? [`expires ${iso(c.expiresAt)}`] : []),
    ...(c.rate ? [`rate ${c.rate}`] : []),
    ...(c.from ? [`from ${c.from.join(", ")}`] : []),
    ...(c.dpop ? ["dpop"] : []),
    ...(c.signedHeaders?.length ? [`signs ${c.signedHeaders.join(", ")}`] : []),
  ].join("  ");
}

function credentialLine(c: CredentialView): string {
  return `${c.id}  ${c.kind}${c.format ? `/${c.format}` : ""}${c.alg ? ` ${c.alg}` : ""}  ${c.label}  ${status(c)}  ${constraintsLine(c)}`;
}

export async function list(id: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate cred list"));
  const client = await AdminClient.from(flags);
  const { credentials } = await client.call<{ credentials: CredentialView[] }>("GET", `/imps/${imp}/credentials`);
  output(flags.json).result({ credentials }, credentials.length === 0 ? ["no credentials"] : credentials.map(credentialLine));
}

export async function set(id: string, credId: string, flags: ConstraintFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate cred set"));
  const body = constraints(flags, true);
  if (Object.keys(body).length === 0)
    throw new CliError("nothing to change: pass --scope, --expires, --rate, --from, --dpop/--no-dpop, --signed-header or --label", 2);
  const client = await AdminClient.from(flags);
  const { credential } = await client.call<{ credential: CredentialView }>(
    "PATCH",
    `/imps/${imp}/credentials/${encodeURIComponent(credId)}`,
    body,
  );
  output(flags.json).result({ credential }, [`changed ${credential.id}: effective now`, credentialLine(credential)]);
}

export async function revoke(id: string, credId: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate cred revoke"));
  const client = await AdminClient.from(flags);
  const { credential } = await client.call<{ credential: CredentialView }>(
    "DELETE",
    `/imps/${imp}/credentials/${encodeURIComponent(credId)}`,
  );
  output(flags.json).result({ credential }, [`revoked ${credential.id}: it, and every token minted with it, stops working now`]);
}
