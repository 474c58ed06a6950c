/** The caller's credential as the command line names it (`--key`, `--cred-file`, `--token`, `--sign-key`, `--scope`), for `call` and the sealed commands. */
import { ConstraintError, parseScope } from "../protocol/index.ts";
import { type CallerCredential, loadCallerKey, loadCredentialFile, loadSigningKey } from "./caller-auth.ts";
import { CliError } from "./errors.ts";

export interface CredentialFlags {
  key?: string;
  credFile?: string;
  token?: string;
  signKey?: string;
  /** A narrower scope for the token than the credential's (`--scope`, repeated). */
  scope?: string[];
  /** false with `--no-dpop`: a plain bearer token. */
  dpop?: boolean;
  ca?: string;
  profile?: string;
  json?: boolean;
}

export async function credentialFrom(flags: CredentialFlags): Promise<CallerCredential> {
  const given = [flags.key, flags.credFile, flags.token, flags.signKey].filter((v) => v !== undefined).length;
  if (given > 1) throw new CliError("pass one of --key, --cred-file, --token, --sign-key", 2);
  if (flags.key) return loadCallerKey(flags.key);
  if (flags.credFile) return loadCredentialFile(flags.credFile);
  if (flags.token) return { kind: "bearer", token: flags.token };
  if (flags.signKey) return loadSigningKey(flags.signKey);
  return { kind: "none" };
}

/** `--scope` entries, checked here so a typo is one line before anything is sent. */
export function scopeOption(scope: string[] | undefined): string[] | undefined {
  if (!scope?.length) return undefined;
  try {
    parseScope(scope);
  } catch (err) {
    if (err instanceof ConstraintError) throw new CliError(err.message.startsWith("scope ") ? `--${err.message}` : err.message, 2);
    throw err;
  }
  return scope;
}
