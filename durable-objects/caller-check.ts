/**
 * The imp's side of caller authentication: the stateful checks the worker cannot make
 * (revocation, single-use nonces and codes, replayed signatures, failure counts) and the
 * audit trail of every decision. A client's own failures are counted per client at this
 * imp (the object is the imp) and make only that client wait; no count of other clients'
 * failures ever holds back a credential that cannot be guessed. Rotating codes, which can
 * be guessed, also have a budget per credential (./code-guesses.ts).
 */

import type { AgentCall, CallerProof } from "../edge/agent-call.ts";
import { ACCESS_TOKEN_TTL_S, mintAccessToken } from "../edge/auth/access-token.ts";
import { retryAfterS } from "../edge/auth/backoff.ts";
import { RateGuard } from "../edge/auth/rate-guard.ts";
import { clientKey } from "../edge/client.ts";
import type { EdgeKey } from "../edge/edge-key.ts";
import { type Failure, ok, type Result } from "../edge/errors.ts";
import { callerUnauthorized, rateLimited, unauthorized } from "../edge/refusals.ts";
import { CHALLENGE_TTL_S, WEBHOOK_TOLERANCE_S } from "../protocol/index.ts";
import type { AuditLog } from "./audit-log.ts";
import type { CodeGuesses } from "./code-guesses.ts";
import {
  type AuthFailure,
  type Credential,
  type CredentialStore,
  codeCandidates,
  codeDigits,
  verifyAssertion,
  verifyTotp,
  verifyWebhook,
} from "./credentials.ts";
import type { ImpRecord } from "./imp-record.ts";
import type { ReplayMemory } from "./replay-memory.ts";

/** GitHub signatures carry no timestamp: remember them for a day instead of a window. */
const UNTIMED_SIGNATURE_MEMORY_MS = 24 * 3600 * 1000;

/** What a call reaches: the relay (the device, or the imp's agent code) or the agent's own APIs (`_messages`, `_events`, `_state`). */
export type Surface = "relay" | "apis";

/** The stores a caller check reads and writes, all the imp's own. */
export interface CallerCheckStores {
  creds: CredentialStore;
  replay: ReplayMemory;
  audit: AuditLog;
  codes: CodeGuesses;
}

export class CallerCheck {
  /** Failures per client at this imp. */
  readonly guard = new RateGuard();
  private readonly stores: CallerCheckStores;

  constructor(stores: CallerCheckStores) {
    this.stores = stores;
  }

  /**
   * Decides whether this call may reach `surface`: the credential it authenticated with
   * (null: a `--public` imp's anonymous caller), or a 401 / 429.
   */
  async authorize(imp: ImpRecord, call: AgentCall, body: Uint8Array, surface: Surface): Promise<Result<{ credId: string | null }>> {
    const { caller } = call;
    // `--public` opens the relay only; the agent's APIs need their own opt-in (`--public-apis`).
    if (caller.kind === "none" && (surface === "relay" ? imp.public : imp.publicApis)) return ok({ credId: null });
    const blocked = this.blocked(call);
    if (blocked) return blocked;
    switch (caller.kind) {
      case "none":
        return this.fail(call, "missing_credential");
      case "bearer": {
        const cred = await this.stores.creds.get(caller.credId);
        if (!cred || cred.revokedAt) return this.fail(call, "revoked", caller.credId);
        if (caller.ep !== imp.authEpoch || caller.iat * 1000 < (cred.tokensValidAfter ?? 0)) return this.fail(call, "revoked", cred.id);
        return ok({ credId: cred.id });
      }
      case "totp":
        return this.checkCode(call, caller.code);
      case "webhook": {
        const found = await verifyWebhook(await this.stores.creds.all(), caller.format, caller.signature, body);
        if ("failure" in found) return this.fail(call, found.failure);
        // Keyed on the signature that verified, never on what else the header carried.
        const seen = this.stores.replay.remember(webhookKey(found.verified), signatureExpiry(caller));
        if (seen === "replay") return this.fail(call, "replayed_signature", found.cred.id);
        if (seen === "full") return this.memoryFull(call, found.cred.id);
        return ok({ credId: found.cred.id });
      }
    }
  }

  /**
   * A rotating code: compared only with the code credentials not pausing their checks; a
   * wrong one is charged to each of those. When every credential it could match is paused,
   * nothing is compared and the caller is told when to try again.
   */
  private async checkCode(call: AgentCall, code: string): Promise<Result<{ credId: string | null }>> {
    const candidates = codeCandidates(await this.stores.creds.all(), code);
    // From here on nothing awaits until the guess is charged, so concurrent guesses cannot
    // slip past a pause that the first of them starts.
    const now = Date.now();
    const open = candidates.filter((c) => this.stores.codes.waitMs(c.id, now) === 0);
    if (candidates.length > 0 && open.length === 0) {
      const wait = Math.min(...candidates.map((c) => this.stores.codes.waitMs(c.id, now)));
      return rateLimited(retryAfterS(wait), "credential").failure();
    }
    const found = verifyTotp(open, code, now);
    if ("failure" in found) {
      for (const paused of this.stores.codes.fail(
        open.map((c) => ({ id: c.id, digits: codeDigits(c) })),
        now,
      )) {
        this.stores.audit.record("code_checks_paused", call.client, {
          credId: paused.credId,
          retryAfter: retryAfterS(paused.retryAfterMs),
        });
      }
      return this.fail(call, found.failure);
    }
    await this.stores.creds.put({ ...found.cred, lastTotpStep: found.step });
    return ok({ credId: found.cred.id });
  }

  /** Redeems a signed assertion over a challenge nonce for an access token. */
  async exchange(
    imp: ImpRecord,
    call: AgentCall,
    key: EdgeKey,
    input: { assertion: string; credId: string; nonce: string; nonceExpiresAt: number },
  ): Promise<Result<{ token: string; expiresIn: number }>> {
    const blocked = this.blocked(call);
    if (blocked) return blocked;
    // A refused assertion is an invalid token, whatever (else) the request carried.
    const refuse = (reason: AuthFailure, credId?: string): Failure => {
      this.fail(call, reason, credId);
      return unauthorized("invalid_token").failure();
    };
    const cred = await this.stores.creds.get(input.credId);
    if (!cred || (cred.kind !== "jwt" && cred.kind !== "jwt-secret")) return refuse("unknown_credential");
    if (cred.revokedAt) return refuse("revoked", cred.id);
    const failure = await verifyAssertion(cred, input.assertion, { audience: call.agentUrl, nonce: input.nonce });
    if (failure) return refuse(failure, cred.id);
    const seen = this.stores.replay.remember(`nonce:${input.nonce}`, input.nonceExpiresAt);
    if (seen === "replay") return refuse("replayed_nonce", cred.id);
    if (seen === "full") return this.memoryFull(call, cred.id);
    const token = await mintAccessToken(key, { credId: cred.id, audience: call.agentUrl, ep: imp.authEpoch });
    return ok({ token, expiresIn: ACCESS_TOKEN_TTL_S });
  }

  /**
   * A credential arrived over plain HTTP: treat it as exposed. Bearer tokens of that
   * credential minted so far die, a valid code or signature is used up, a nonce is spent.
   */
  async burn(call: AgentCall, body: Uint8Array, nonce?: string): Promise<void> {
    const { caller, client } = call;
    let burned: Credential | undefined;
    if (caller.kind === "bearer") {
      const cred = await this.stores.creds.get(caller.credId);
      if (cred && !cred.revokedAt) {
        // Every token minted up to this second dies; the caller can mint a fresh one over HTTPS.
        burned = { ...cred, tokensValidAfter: (Math.floor(Date.now() / 1000) + 1) * 1000 };
        await this.stores.creds.put(burned);
      }
    } else if (caller.kind === "totp") {
      // Compared like any code over HTTPS (paused credentials not at all), but not charged:
      // the answer is the same refusal whether it matched or not, so it tells a guesser nothing.
      const now = Date.now();
      const open = codeCandidates(await this.stores.creds.all(), caller.code).filter((c) => this.stores.codes.waitMs(c.id, now) === 0);
      const found = verifyTotp(open, caller.code, now);
      if (!("failure" in found)) {
        burned = { ...found.cred, lastTotpStep: found.step };
        await this.stores.creds.put(burned);
      }
    } else if (caller.kind === "webhook") {
      const found = await verifyWebhook(await this.stores.creds.all(), caller.format, caller.signature, body);
      if (!("failure" in found)) {
        this.stores.replay.remember(webhookKey(found.verified), signatureExpiry(caller));
        burned = found.cred;
      }
    }
    if (nonce) this.stores.replay.remember(`nonce:${nonce}`, Date.now() + CHALLENGE_TTL_S * 1000);
    if (burned)
      this.stores.audit.record("credential_burned", client, { credId: burned.id, kind: caller.kind, why: "sent over plain HTTP" });
  }

  /** Records a failure the worker already decided (a garbage or forged token). */
  recordFailure(call: AgentCall, reason: AuthFailure, at?: number): void {
    this.fail(call, reason, undefined, at);
  }

  /** A client that must wait is held back before anything is verified. */
  private blocked(call: AgentCall): Failure | null {
    const retryAfter = this.guard.retryAfter(clientKey(call.client));
    return retryAfter > 0 ? rateLimited(retryAfter, "client").failure() : null;
  }

  /** Counts and audits a failed attempt; the caller gets the one 401. */
  private fail(call: AgentCall, reason: AuthFailure, credId?: string, at?: number): Failure {
    const { started, retryAfter } = this.guard.fail(clientKey(call.client));
    this.stores.audit.record("auth_failed", call.client, { reason, kind: call.caller.kind, ...(credId ? { credId } : {}) }, at);
    if (started) this.stores.audit.record("rate_limited", call.client, { scope: "client", retryAfter });
    return callerUnauthorized(call.caller.kind).failure();
  }

  /** Replay memory holds as many live entries as it may: refuse rather than forget one early. */
  private memoryFull(call: AgentCall, credId: string): Failure {
    this.stores.audit.record("auth_failed", call.client, { reason: "replay_memory_full", kind: call.caller.kind, credId });
    return rateLimited(this.stores.replay.secondsUntilRoom(), "credential").failure();
  }
}

/** The replay key of a webhook: the signature that verified (fixed by secret, timestamp and body). */
function webhookKey(verified: string): string {
  return `sig:${verified}`;
}

function signatureExpiry(caller: Extract<CallerProof, { kind: "webhook" }>): number {
  const ts = caller.signature.timestamp;
  return ts === undefined ? Date.now() + UNTIMED_SIGNATURE_MEMORY_MS : (ts + WEBHOOK_TOLERANCE_S) * 1000 + 1000;
}
