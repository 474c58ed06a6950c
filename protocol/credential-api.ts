/**
 * The admin API's caller-credential requests and responses (`/admin/imps/<imp>/credentials`),
 * as the edge answers them and the `impgate` CLI reads them. Types and constants only;
 * ./admin-api.ts re-exports them.
 */
import type { JWK } from "jose";

export type CredentialKind = "jwt" | "jwt-secret" | "webhook" | "totp" | "http-signature";

/** A credential as the API shows it: never its secret. */
export interface CredentialView {
  id: string;
  kind: CredentialKind;
  /** Its name, for people. */
  label: string;
  createdAt: number;
  revokedAt?: number;
  alg?: string;
  /** jwt, http-signature: the caller's public key. */
  publicJwk?: JWK;
  format?: string;
  /** totp: how many digits its codes have (absent: 6, made before codes had 8). */
  digits?: 6 | 8;
  /** What it may do (protocol/scope.ts): relay entries (`POST /hooks/github`) and agent APIs (`events:read`). */
  scope: string[];
  /** When it stops working (epoch ms); absent: never. */
  expiresAt?: number;
  /** Its own rate limit, as `--rate` takes it (`30/m`); absent: none. */
  rate?: string;
  /** Client address ranges it may be used from (`--from`); absent: anywhere. */
  from?: string[];
  /** jwt: its access tokens are bound to the caller's key, and every request carries a DPoP proof (RFC 9449). */
  dpop?: boolean;
  /** http-signature: header fields every signature must also cover. */
  signedHeaders?: string[];
}

/**
 * `POST /admin/imps/<imp>/credentials`. The constraints are written as the CLI takes them
 * (protocol/scope.ts, limits.ts, cidr.ts); without `scope` a credential reaches the relay
 * only (`* /**`), never the agent's own APIs.
 */
export interface AddCredentialRequest {
  kind: CredentialKind;
  label?: string;
  /** jwt, http-signature. */
  publicJwk?: JWK;
  /** webhook. */
  format?: string;
  scope?: string[];
  /** `90d`, `2027-01-01`, an RFC 3339 date-time. */
  expires?: string;
  /** `30/m`. */
  rate?: string;
  from?: string[];
  /** jwt: default true. */
  dpop?: boolean;
  /** http-signature. */
  signedHeaders?: string[];
}

/** `PATCH /admin/imps/<imp>/credentials/<id>`: what is given changes (`expires: "never"`, `rate: "none"`, `from: null` lift a limit). */
export interface UpdateCredentialRequest {
  label?: string;
  scope?: string[];
  expires?: string;
  rate?: string;
  from?: string[] | null;
  dpop?: boolean;
  signedHeaders?: string[];
}

/** A credential made without `scope`: the relay, never the agent's own APIs. */
export const DEFAULT_CREDENTIAL_SCOPE: readonly string[] = ["* /**"];

/** `POST /admin/imps/<imp>/credentials` answers the secret once, here. */
export interface AddedCredential {
  credential: CredentialView;
  secret?: string;
  /** webhook: the header the sender signs into. */
  header?: string;
  /** totp: for authenticator apps. */
  otpauthUri?: string;
}
