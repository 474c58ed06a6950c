/** `impgate cred …`: caller credentials of an imp. Secrets are shown once, at creation. */
import { writeFile } from "node:fs/promises";
import { AdminClient } from "../admin-client.ts";
import { parseArgs } from "../args.ts";
import { readJsonFile } from "../caller-auth.ts";
import { CliError, usage } from "../errors.ts";
import { type Output, PROFILE_OPTIONS } from "../output.ts";
import { loadProfile } from "../profile.ts";

export const CRED_USAGE = `impgate cred add <imp> --kind jwt --public-key caller.pub.jwk [--label L]
impgate cred add <imp> --kind jwt-secret|totp [--label L] [--out cred.json]
impgate cred add <imp> --kind webhook --format github|stripe|generic [--label L] [--out cred.json]
impgate cred list <imp>
impgate cred revoke <imp> <credential-id>`;

interface CredentialView {
  id: string;
  kind: string;
  label: string;
  createdAt: number;
  revokedAt?: number;
  format?: string;
  alg?: string;
}

export async function credCommand(argv: string[], out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "add":
      return add(rest, out);
    case "list":
      return list(rest, out);
    case "revoke":
      return revoke(rest, out);
    default:
      throw usage(sub ? `unknown command "cred ${sub}"\n${CRED_USAGE}` : CRED_USAGE);
  }
}

async function add(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...PROFILE_OPTIONS,
      kind: { type: "string" },
      "public-key": { type: "string" },
      format: { type: "string" },
      label: { type: "string" },
      out: { type: "string" },
    },
  });
  const [imp] = positionals;
  if (!imp || !values.kind) throw usage(CRED_USAGE);
  const body: Record<string, unknown> = { kind: values.kind, ...(values.label ? { label: values.label } : {}) };
  if (values.kind === "jwt") {
    if (!values["public-key"]) throw usage("--kind jwt needs --public-key (impgate caller keygen makes one)");
    body.publicJwk = await readJsonFile(values["public-key"], "public key");
  } else if (values.kind === "webhook") {
    if (!values.format) throw usage("--kind webhook needs --format github|stripe|generic");
    body.format = values.format;
  } else if (values.kind !== "jwt-secret" && values.kind !== "totp") {
    throw usage(`--kind is jwt, jwt-secret, webhook or totp, not ${values.kind}`);
  }
  if (values.out && values.kind === "jwt") throw usage("--out is for shared secrets; a jwt caller keeps its own key");
  const client = new AdminClient(await loadProfile(values));
  const created = await client.call<{ credential: CredentialView; secret?: string; header?: string; otpauthUri?: string }>(
    "POST",
    `/imps/${encodeURIComponent(imp)}/credentials`,
    body,
  );
  const c = created.credential;
  if (values.out) {
    const file = { kind: c.kind, credId: c.id, secret: created.secret, ...(c.format ? { format: c.format } : {}) };
    try {
      await writeFile(values.out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    } catch (err) {
      throw new CliError(
        `credential ${c.id} was created, but ${values.out} could not be written (${(err as NodeJS.ErrnoException).code}); revoke it and try again`,
      );
    }
  }
  const lines = [`added ${c.kind} credential ${c.id} (${c.label})`];
  if (created.secret) lines.push(`secret: ${created.secret}    (shown once; it is not stored anywhere you can read it back)`);
  if (created.header) lines.push(`the sender signs into the ${created.header} header`);
  if (created.otpauthUri) lines.push(`authenticator URI: ${created.otpauthUri}`);
  if (values.out) lines.push(`credential file: ${values.out} (use it with impgate call --cred-file)`);
  out.result(created, lines);
}

async function list(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: PROFILE_OPTIONS });
  const [imp] = positionals;
  if (!imp) throw usage("usage: impgate cred list <imp>");
  const client = new AdminClient(await loadProfile(values));
  const { credentials } = await client.call<{ credentials: CredentialView[] }>("GET", `/imps/${encodeURIComponent(imp)}/credentials`);
  out.result(
    { credentials },
    credentials.length === 0
      ? ["no credentials"]
      : credentials.map(
          (c) =>
            `${c.id}  ${c.kind}${c.format ? `/${c.format}` : ""}${c.alg ? ` ${c.alg}` : ""}  ${c.label}  ${c.revokedAt ? `revoked ${new Date(c.revokedAt).toISOString()}` : "active"}`,
        ),
  );
}

async function revoke(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: PROFILE_OPTIONS });
  const [imp, credId] = positionals;
  if (!imp || !credId) throw usage("usage: impgate cred revoke <imp> <credential-id>");
  const client = new AdminClient(await loadProfile(values));
  const { credential } = await client.call<{ credential: CredentialView }>(
    "DELETE",
    `/imps/${encodeURIComponent(imp)}/credentials/${encodeURIComponent(credId)}`,
  );
  out.result({ credential }, [`revoked ${credential.id}: it, and every token minted with it, stops working now`]);
}
