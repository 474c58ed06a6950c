/**
 * An imp's caller credentials. Secrets live only here, in the imp's own storage; what
 * leaves the object is a `CredentialView` without them. How each kind is verified:
 * ./credentials-verify.ts; what a credential may do once it is (scope, expiry, rate,
 * address ranges): ./credentials-gate.ts.
 */
import type { JWK } from "jose";
import type { CredentialKind, CredentialView } from "../protocol/admin-api.ts";
import { type CallerAlgorithm, formatRate, type Rate, UNRESTRICTED_SCOPE, type WebhookFormat } from "../protocol/index.ts";

export type { AuthFailure } from "../edge/auth/failures.ts";
export type { CredentialKind, CredentialView } from "../protocol/admin-api.ts";

export interface Credential {
  id: string;
  kind: CredentialKind;
  /** Its name, for people. */
  label: string;
  createdAt: number;
  revokedAt?: number;
  /** jwt / jwt-secret: the one algorithm this credential may sign with; http-signature: its key's. */
  alg?: CallerAlgorithm;
  /** jwt, http-signature: the caller's public key. */
  publicJwk?: JWK;
  /** jwt-secret, webhook, totp: the shared secret (totp: base32). */
  secret?: string;
  /** webhook: the sender's signature format. */
  format?: WebhookFormat;
  /** Access tokens minted before this time (ms) are refused: set when tokens were exposed. */
  tokensValidAfter?: number;
  /** totp: the last step accepted; each code is usable once. */
  lastTotpStep?: number;
  /** totp: how many digits its codes have (absent: made before 8 digits, so 6). */
  digits?: number;
  /** Scope entries (protocol/scope.ts), as formatted; absent: made before scopes, so everything. */
  scope?: string[];
  /** Epoch ms after which it is refused as if revoked; absent: never. */
  expiresAt?: number;
  /** Its own rate limit; absent: none. */
  rate?: Rate;
  /** Client ranges (protocol/cidr.ts), as formatted; absent: anywhere. */
  from?: string[];
  /** jwt: tokens must be DPoP-bound (RFC 9449); absent: made before DPoP, so no. */
  dpop?: boolean;
  /** http-signature: header fields every signature must also cover. */
  signedHeaders?: string[];
}

/** What the credential may do: its scope, or everything for one made before scopes existed. */
export function scopeOf(cred: Credential): readonly string[] {
  return cred.scope ?? UNRESTRICTED_SCOPE;
}

/** Whether `--expires` has passed. */
export function isExpired(cred: Credential, now = Date.now()): boolean {
  return cred.expiresAt !== undefined && now >= cred.expiresAt;
}

export function view(c: Credential): CredentialView {
  const { secret: _s, lastTotpStep: _l, tokensValidAfter: _t, rate, digits, scope: _scope, ...rest } = c;
  return {
    ...rest,
    scope: [...scopeOf(c)],
    ...(rate ? { rate: formatRate(rate) } : {}),
    ...(digits === 6 || digits === 8 ? { digits } : {}),
  };
}

export class CredentialStore {
  private readonly storage: DurableObjectStorage;
  private cache: Record<string, Credential> | undefined;
  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  async all(): Promise<Credential[]> {
    return Object.values(await this.load());
  }

  async get(id: string): Promise<Credential | undefined> {
    const all = await this.load();
    return Object.hasOwn(all, id) ? all[id] : undefined;
  }

  async put(c: Credential): Promise<void> {
    const all = { ...(await this.load()), [c.id]: c };
    await this.storage.put("credentials", all);
    this.cache = all;
  }

  private async load(): Promise<Record<string, Credential>> {
    this.cache ??= (await this.storage.get<Record<string, Credential>>("credentials")) ?? {};
    return this.cache;
  }
}
