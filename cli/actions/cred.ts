/** `impgate cred …`: what runs. Secrets are shown once, at creation, and written only where --out says. */
import { readFile } from "node:fs/promises";
import type { AddedCredential, CredentialKind, CredentialView } from "../../protocol/admin-api.ts";
import { AdminClient } from "../admin-client.ts";
import { readJsonFile } from "../caller-auth.ts";
import { CliError } from "../errors.ts";
import { impId } from "../hints.ts";
import { type AdminFlags, output } from "../output.ts";
import { claim, exists } from "../secret-files.ts";

interface AddFlags extends AdminFlags {
  kind: CredentialKind;
  publicKey?: string;
  format?: string;
  label?: string;
  out?: string;
}

export async function add(id: string, flags: AddFlags): Promise<void> {
  impId(id, "impgate cred add");
  const body: Record<string, unknown> = { kind: flags.kind, ...(flags.label ? { label: flags.label } : {}) };
  if (flags.kind === "jwt") {
    if (!flags.publicKey) throw new CliError("--kind jwt needs --public-key (impgate caller keygen makes one)", 2);
    if (flags.out) throw new CliError("--out is for shared secrets; a jwt caller keeps its own key", 2);
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
  const lines = [`added ${c.kind} credential ${c.id} (${c.label})`];
  if (created.secret) lines.push(`secret: ${created.secret}    (shown once; it is not stored anywhere you can read it back)`);
  if (created.header) lines.push(`the sender signs into the ${created.header} header`);
  if (created.otpauthUri) lines.push(`authenticator URI: ${created.otpauthUri}`);
  if (flags.out) lines.push(`credential file: ${flags.out} (0600; use it with impgate call --cred-file)`);
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

export async function list(id: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate cred list"));
  const client = await AdminClient.from(flags);
  const { credentials } = await client.call<{ credentials: CredentialView[] }>("GET", `/imps/${imp}/credentials`);
  output(flags.json).result(
    { credentials },
    credentials.length === 0
      ? ["no credentials"]
      : credentials.map(
          (c) =>
            `${c.id}  ${c.kind}${c.format ? `/${c.format}` : ""}${c.alg ? ` ${c.alg}` : ""}  ${c.label}  ${c.revokedAt ? `revoked ${new Date(c.revokedAt).toISOString()}` : "active"}`,
        ),
  );
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
