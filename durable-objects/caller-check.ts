/**
 * The imp's side of caller authentication: the stateful checks the worker cannot make
 * (revocation, single-use nonces and codes, replayed signatures, failure counts) and the
 * audit trail of every decision. Rate limits are consulted before any verification.
 */
import { CHALLENGE_TTL_S, WEBHOOK_TOLERANCE_S } from "../protocol/index.ts";
import { ACCESS_TOKEN_TTL_S, mintAccessToken } from "../worker/auth/access-token.ts";
import { RateGuard } from "../worker/auth/rate-guard.ts";
import type { EdgeKey } from "../worker/edge-key.ts";
import type { AgentCall, CallerProof, Denial } from "./agent-call.ts";
import type { AuditLog } from "./audit-log.ts";
import { type AuthFailure, type Credential, type CredentialStore, verifyAssertion, verifyTotp, verifyWebhook } from "./credentials.ts";
import type { ImpRecord } from "./imp-record.ts";
import type { ReplayMemory } from "./replay-memory.ts";

/** GitHub signatures carry no timestamp: remember them for a day instead of a window. */
const UNTIMED_SIGNATURE_MEMORY_MS = 24 * 3600 * 1000;

export type Verdict = { kind: "ok"; credId: string | null } | Denial;

export class CallerCheck {
  readonly guard = new RateGuard();
  private readonly creds: CredentialStore;
  private readonly replay: ReplayMemory;
  private readonly audit: AuditLog;

  constructor(creds: CredentialStore, replay: ReplayMemory, audit: AuditLog) {
    this.creds = creds;
    this.replay = replay;
    this.audit = audit;
  }

  /** Decides whether this call may reach the device. */
  async authorize(imp: ImpRecord, call: AgentCall, body: Uint8Array): Promise<Verdict> {
    const { caller, client } = call;
    if (caller.kind === "none" && imp.public) return { kind: "ok", credId: null };
    // Per-agent lockdown only holds back guessable credentials; a verified token still works.
    const blocked = this.blocked(client, caller.kind !== "bearer");
    if (blocked) return blocked;
    switch (caller.kind) {
      case "none":
        return this.fail(call, "missing_credential");
      case "bearer": {
        const cred = await this.creds.get(caller.credId);
        if (!cred || cred.revokedAt) return this.fail(call, "revoked", caller.credId);
        if (caller.ep !== imp.authEpoch || caller.iat * 1000 < (cred.tokensValidAfter ?? 0)) return this.fail(call, "revoked", cred.id);
        return { kind: "ok", credId: cred.id };
      }
      case "totp": {
        const found = verifyTotp(await this.creds.all(), caller.code);
        if ("failure" in found) return this.fail(call, found.failure);
        await this.creds.put({ ...found.cred, lastTotpStep: found.step });
        return { kind: "ok", credId: found.cred.id };
      }
      case "webhook": {
        const found = await verifyWebhook(await this.creds.all(), caller.format, caller.signature, body);
        if ("failure" in found) return this.fail(call, found.failure);
        if (!this.replay.remember(`sig:${caller.signature.signatures[0]}`, signatureExpiry(caller))) {
          return this.fail(call, "replayed_signature", found.cred.id);
        }
        return { kind: "ok", credId: found.cred.id };
      }
    }
  }

  /** Redeems a signed assertion over a challenge nonce for an access token. */
  async exchange(
    imp: ImpRecord,
    call: AgentCall,
    key: EdgeKey,
    input: { assertion: string; credId: string; nonce: string; nonceExpiresAt: number },
  ): Promise<{ kind: "token"; token: string; expiresIn: number } | Denial> {
    const blocked = this.blocked(call.client, true);
    if (blocked) return blocked;
    const cred = await this.creds.get(input.credId);
    if (!cred || (cred.kind !== "jwt" && cred.kind !== "jwt-secret")) return this.fail(call, "unknown_credential");
    if (cred.revokedAt) return this.fail(call, "revoked", cred.id);
    const failure = await verifyAssertion(cred, input.assertion, { audience: call.agentUrl, nonce: input.nonce });
    if (failure) return this.fail(call, failure, cred.id);
    if (!this.replay.remember(`nonce:${input.nonce}`, input.nonceExpiresAt)) return this.fail(call, "replayed_nonce", cred.id);
    const token = await mintAccessToken(key, { credId: cred.id, audience: call.agentUrl, ep: imp.authEpoch });
    return { kind: "token", token, expiresIn: ACCESS_TOKEN_TTL_S };
  }

  /**
   * A credential arrived over plain HTTP: treat it as exposed. Bearer tokens of that
   * credential minted so far die, a valid code or signature is used up, a nonce is spent.
   */
  async burn(call: AgentCall, body: Uint8Array, nonce?: string): Promise<void> {
    const { caller, client } = call;
    let burned: Credential | undefined;
    if (caller.kind === "bearer") {
      const cred = await this.creds.get(caller.credId);
      if (cred && !cred.revokedAt) {
        // Every token minted up to this second dies; the caller can mint a fresh one over HTTPS.
        burned = { ...cred, tokensValidAfter: (Math.floor(Date.now() / 1000) + 1) * 1000 };
        await this.creds.put(burned);
      }
    } else if (caller.kind === "totp") {
      const found = verifyTotp(await this.creds.all(), caller.code);
      if (!("failure" in found)) {
        burned = { ...found.cred, lastTotpStep: found.step };
        await this.creds.put(burned);
      }
    } else if (caller.kind === "webhook") {
      const found = await verifyWebhook(await this.creds.all(), caller.format, caller.signature, body);
      if (!("failure" in found)) {
        this.replay.remember(`sig:${caller.signature.signatures[0]}`, signatureExpiry(caller));
        burned = found.cred;
      }
    }
    if (nonce) this.replay.remember(`nonce:${nonce}`, Date.now() + CHALLENGE_TTL_S * 1000);
    if (burned) this.audit.record("credential_burned", client, { credId: burned.id, kind: caller.kind, why: "sent over plain HTTP" });
  }

  /** Records a failure the worker already decided (a garbage or forged token). */
  recordFailure(call: AgentCall, reason: AuthFailure, at?: number): void {
    this.fail(call, reason, undefined, at);
  }

  /** A client over its limit is held back; with `guessable`, so is anyone while the agent is over its own. */
  private blocked(client: string, guessable: boolean): Denial | null {
    const retryAfter = Math.max(this.guard.clientRetryAfter(client), guessable ? this.guard.agentRetryAfter() : 0);
    return retryAfter > 0 ? { kind: "rate_limited", retryAfter } : null;
  }

  private fail(call: AgentCall, reason: AuthFailure, credId?: string, at?: number): Denial {
    const wasBlocked = this.guard.clientRetryAfter(call.client) > 0 || this.guard.agentRetryAfter() > 0;
    this.guard.failClient(call.client);
    this.guard.failAgent();
    this.audit.record("auth_failed", call.client, { reason, kind: call.caller.kind, ...(credId ? { credId } : {}) }, at);
    if (!wasBlocked && (this.guard.clientRetryAfter(call.client) > 0 || this.guard.agentRetryAfter() > 0)) {
      this.audit.record("rate_limited", call.client, { scope: this.guard.clientRetryAfter(call.client) > 0 ? "client" : "agent" });
    }
    return { kind: "unauthorized" };
  }
}

function signatureExpiry(caller: Extract<CallerProof, { kind: "webhook" }>): number {
  const ts = caller.signature.timestamp;
  return ts === undefined ? Date.now() + UNTIMED_SIGNATURE_MEMORY_MS : (ts + WEBHOOK_TOLERANCE_S) * 1000 + 1000;
}
