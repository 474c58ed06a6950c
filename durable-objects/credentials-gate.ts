/**
 * What an authenticated credential may do, checked where it lives, on every request and
 * before anything reaches the device or the agent code: its expiry, its client address
 * ranges, its scope as it is now and the (possibly narrower) scope of the token it came
 * with (protocol/caller-constraints.ts), then its own rate limit (./credentials-rate.ts).
 * So narrowing, expiring or revoking a credential stops its tokens at once.
 */
import type { AgentCall } from "../edge/agent-call.ts";
import { type Cidr, type ConstraintRefusal, checkCallerConstraints, parseCidr, parseScope, type Scope } from "../protocol/index.ts";
import { type Credential, scopeOf } from "./credentials.ts";
import type { CredentialRates } from "./credentials-rate.ts";

export type GateRefusal = { refusal: ConstraintRefusal } | { refusal: "rate_limited"; waitMs: number; started: boolean };

/** Parsed scopes and ranges, by their text: a credential's are parsed once, not on every request. */
const MAX_PARSED = 256;

export class CredentialGate {
  private readonly rates: CredentialRates;
  private readonly scopes = new Map<string, Scope>();
  private readonly ranges = new Map<string, Cidr[]>();

  constructor(rates: CredentialRates) {
    this.rates = rates;
  }

  /** The first constraint `call` breaks with `cred` (and the scope of its token, if any), or null when it may go on. */
  check(cred: Credential, call: AgentCall, tokenScope: string[] | null, now = Date.now()): GateRefusal | null {
    let scopes: Scope[];
    try {
      scopes = [this.scope(scopeOf(cred)), ...(tokenScope ? [this.scope(tokenScope)] : [])];
    } catch {
      // Stored and minted scopes were parsed before: one that no longer parses permits nothing.
      return { refusal: "insufficient_scope" };
    }
    const refusal = this.constraints(cred, call, scopes, now);
    if (refusal) return { refusal };
    if (!cred.rate) return null;
    const { waitMs, started } = this.rates.take(cred.id, cred.rate, now);
    return waitMs > 0 ? { refusal: "rate_limited", waitMs, started } : null;
  }

  /** Whether the credential may be used at all, now and from this client (expiry, `--from`): for minting a token. */
  checkStanding(cred: Credential, call: AgentCall, now = Date.now()): ConstraintRefusal | null {
    return this.constraints(cred, call, [], now);
  }

  private constraints(cred: Credential, call: AgentCall, scopes: Scope[], now: number): ConstraintRefusal | null {
    return checkCallerConstraints(
      { scopes, expiresAt: cred.expiresAt === undefined ? null : cred.expiresAt / 1000, from: cred.from ? this.range(cred.from) : null },
      { nowS: now / 1000, clientAddress: call.client, request: call.request },
    );
  }

  /** The credential's rate changed, or it went. */
  resetRate(credId: string): void {
    this.rates.reset(credId);
  }

  private scope(texts: readonly string[]): Scope {
    return cached(this.scopes, texts, () => parseScope(texts));
  }

  private range(texts: readonly string[]): Cidr[] {
    // A stored range that no longer parses lets no client in.
    return cached(this.ranges, texts, () => {
      try {
        return texts.map(parseCidr);
      } catch {
        return [];
      }
    });
  }
}

function cached<V>(map: Map<string, V>, texts: readonly string[], make: () => V): V {
  const key = texts.join("\n");
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= MAX_PARSED) map.clear();
    value = make();
    map.set(key, value);
  }
  return value;
}
