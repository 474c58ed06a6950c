/**
 * `impgate cred set`: a credential's name, scope, expiry, rate, address ranges, DPoP and
 * signed headers change in place (its secret or key never does: revoke and add for that).
 * A change takes effect on the next request, also for tokens minted before it, and is
 * audited with what it changed.
 */
import { fail, ok, type Result } from "../edge/errors.ts";
import { formatRate, type Rate } from "../protocol/index.ts";
import { type Credential, type CredentialView, view } from "./credentials.ts";
import type { ImpParts } from "./imp-parts.ts";

/** What `PATCH …/credentials/<id>` changes, already parsed by the worker; null lifts a limit. */
export interface CredentialChanges {
  label?: string;
  scope?: string[];
  /** Epoch ms; null: never. */
  expiresAt?: number | null;
  rate?: Rate | null;
  from?: string[] | null;
  dpop?: boolean;
  signedHeaders?: string[];
}

export async function updateCredential(
  parts: ImpParts,
  client: string,
  id: string,
  changes: CredentialChanges,
): Promise<Result<CredentialView>> {
  const cred = await parts.creds.get(id);
  if (!cred) return fail("credential_not_found", "No such credential");
  if (cred.revokedAt) return fail("bad_request", "This credential is revoked: add a new one");
  if (changes.dpop !== undefined && cred.kind !== "jwt")
    return fail("bad_request", "dpop: only jwt credentials have access tokens to bind");
  if (changes.signedHeaders !== undefined && cred.kind !== "http-signature")
    return fail("bad_request", "signedHeaders: only http-signature credentials sign requests");
  const next: Credential = { ...cred };
  const audited: Record<string, string | boolean> = {};
  if (changes.label !== undefined) audited.label = next.label = changes.label;
  if (changes.scope !== undefined) {
    next.scope = changes.scope;
    audited.scope = changes.scope.join(", ");
  }
  if (changes.expiresAt !== undefined) {
    next.expiresAt = changes.expiresAt ?? undefined;
    audited.expires = changes.expiresAt === null ? "never" : new Date(changes.expiresAt).toISOString();
  }
  if (changes.rate !== undefined) {
    next.rate = changes.rate ?? undefined;
    audited.rate = changes.rate ? formatRate(changes.rate) : "none";
    parts.callers.gate.resetRate(cred.id);
  }
  if (changes.from !== undefined) {
    next.from = changes.from ?? undefined;
    audited.from = changes.from ? changes.from.join(", ") : "anywhere";
  }
  if (changes.dpop !== undefined) audited.dpop = next.dpop = changes.dpop;
  if (changes.signedHeaders !== undefined) {
    next.signedHeaders = changes.signedHeaders;
    audited.signedHeaders = changes.signedHeaders.join(", ");
  }
  await parts.creds.put(stripUndefined(next));
  parts.audit.record("credential_changed", client, { credId: cred.id, kind: cred.kind, ...audited });
  return ok(view(next));
}

/** Storage keeps no `undefined` members (a lifted limit is an absent one). */
function stripUndefined(c: Credential): Credential {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as Credential;
}
