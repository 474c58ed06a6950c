/**
 * The imp's side of caller authentication: the stateful checks the worker cannot make
 * (revocation, single-use nonces, codes, DPoP proofs and signatures, failure counts), what
 * the credential may do (./credentials-gate.ts: scope, expiry, address ranges, its own
 * rate), and the audit trail of every decision. A client's own failures are counted per
 * client at this imp (the object is the imp) and make only that client wait; no count of
 * other clients' failures ever holds back a credential that cannot be guessed. Rotating
 * codes, which can be guessed, also have a budget per credential (./code-guesses.ts).
 * Redeeming an assertion for a token: ./caller-exchange.ts.
 */

import type { AgentCall, CallerProof, VerifiedProof } from "../edge/agent-call.ts";
import { retryAfterS } from "../edge/auth/backoff.ts";
import { dpopUnauthorized, outsideScope, unauthorizedFor } from "../edge/auth/caller-refusals.ts";
import { reasonOf } from "../edge/auth/failures.ts";
import { HttpSignatureError, verifyHttpSignature } from "../edge/auth/http-signature.ts";
import { RateGuard } from "../edge/auth/rate-guard.ts";
import { clientKey } from "../edge/client.ts";
import type { Failure, ImpgateError, Result } from "../edge/errors.ts";
import { ok } from "../edge/errors.ts";
import { rateLimited } from "../edge/refusals.ts";
import { CHALLENGE_TTL_S, WEBHOOK_TOLERANCE_S } from "../protocol/index.ts";
import type { AuditLog } from "./audit-log.ts";
import type { CodeGuesses } from "./code-guesses.ts";
import type { AuthFailure, Credential, CredentialStore } from "./credentials.ts";
import type { CredentialGate } from "./credentials-gate.ts";
import { codeCandidates, codeDigits, verifyTotp, verifyWebhook } from "./credentials-verify.ts";
import type { ImpRecord } from "./imp-record.ts";
import type { ReplayMemory } from "./replay-memory.ts";

/** GitHub signatures carry no timestamp: remember them for a day instead of a window. */
const UNTIMED_SIGNATURE_MEMORY_MS = 24 * 3600 * 1000;

/** What a call reaches: the relay (the device, or the imp's agent code) or the agent's own APIs (`_messages`, `_events`, `_state`). */
export type Surface = "relay" | "apis";

type Admission = Result<{ credId: string | null }>;

export class CallerCheck {
  /** Failures per client at this imp. */
  readonly guard = new RateGuard();
  readonly creds: CredentialStore;
  readonly replay: ReplayMemory;
  readonly audit: AuditLog;
  readonly gate: CredentialGate;
  private readonly codes: CodeGuesses;

  constructor(creds: CredentialStore, replay: ReplayMemory, audit: AuditLog, codes: CodeGuesses, gate: CredentialGate) {
    this.creds = creds;
    this.replay = replay;
    this.audit = audit;
    this.codes = codes;
    this.gate = gate;
  }

  /**
   * Decides whether this call may reach `surface`: the credential it authenticated with
   * (null: a `--public` imp's anonymous caller), or a 401 / 403 / 429.
   */
  async authorize(imp: ImpRecord, call: AgentCall, body: Uint8Array, surface: Surface): Promise<Admission> {
    const { caller } = call;
    // `--public` opens the relay only; the agent's APIs need their own opt-in (`--public-apis`).
    if (caller.kind === "none" && (surface === "relay" ? imp.public : imp.publicApis)) return ok({ credId: null });
    const blocked = this.blocked(call);
    if (blocked) return blocked;
    switch (caller.kind) {
      case "none":
        return this.fail(call, "missing_credential");
      case "bearer":
        return this.checkToken(imp, call, caller);
      case "totp":
        return this.checkCode(call, caller.code);
      case "webhook": {
        const found = await verifyWebhook(await this.creds.all(), caller.format, caller.signature, body);
        if ("failure" in found) return this.fail(call, found.failure);
        // Keyed on the signature that verified, never on what else the header carried.
        const seen = this.remember(call, webhookKey(found.verified), signatureExpiry(caller), found.cred.id, "replayed_signature");
        return seen ?? this.admit(call, found.cred);
      }
      case "signature":
        return this.checkSignature(call, caller, body);
    }
  }

  /** An access token the worker verified: its credential must still stand, and a DPoP proof must be new. */
  private async checkToken(imp: ImpRecord, call: AgentCall, caller: Extract<CallerProof, { kind: "bearer" }>): Promise<Admission> {
    const cred = await this.creds.get(caller.credId);
    if (!cred || cred.revokedAt) return this.fail(call, "revoked", { credId: caller.credId });
    if (caller.ep !== imp.authEpoch || caller.iat * 1000 < (cred.tokensValidAfter ?? 0))
      return this.fail(call, "revoked", { credId: cred.id });
    if (caller.dpop) {
      const seen = this.rememberProof(call, caller.dpop, cred.id);
      if (seen) return seen;
    } else if (cred.dpop) {
      // A token minted before DPoP was required of its credential, sent without a proof.
      return this.fail(call, "dpop_required", { credId: cred.id, answer: dpopUnauthorized("invalid_token") });
    }
    return this.admit(call, cred, caller.scope);
  }

  /** An RFC 9421 signed request: verified with the key of the credential it names, each nonce once. */
  private async checkSignature(call: AgentCall, caller: Extract<CallerProof, { kind: "signature" }>, body: Uint8Array): Promise<Admission> {
    const cred = await this.creds.get(caller.keyid);
    if (cred?.kind !== "http-signature" || !cred.publicJwk) return this.fail(call, "unknown_credential");
    if (cred.revokedAt) return this.fail(call, "revoked", { credId: cred.id });
    try {
      const { nonce, replayUntil } = await verifyHttpSignature(
        { method: caller.method, url: caller.url, headers: new Headers(caller.headers), body },
        { id: cred.id, publicJwk: cred.publicJwk, signedHeaders: cred.signedHeaders },
      );
      const seen = this.remember(call, `rfc9421 ${cred.id} ${nonce}`, replayUntil * 1000, cred.id, "sig_replayed");
      return seen ?? this.admit(call, cred);
    } catch (err) {
      if (err instanceof HttpSignatureError) return this.fail(call, reasonOf(err.code), { credId: cred.id });
      throw err;
    }
  }

  /**
   * A rotating code: compared only with the code credentials not pausing their checks; a
   * wrong one is charged to each of those. When every credential it could match is paused,
   * nothing is compared and the caller is told when to try again.
   */
  private async checkCode(call: AgentCall, code: string): Promise<Admission> {
    const candidates = codeCandidates(await this.creds.all(), code);
    // From here on nothing awaits until the guess is charged, so concurrent guesses cannot
    // slip past a pause that the first of them starts.
    const now = Date.now();
    const open = candidates.filter((c) => this.codes.waitMs(c.id, now) === 0);
    if (candidates.length > 0 && open.length === 0) {
      const wait = Math.min(...candidates.map((c) => this.codes.waitMs(c.id, now)));
      return rateLimited(retryAfterS(wait), "credential").failure();
    }
    const found = verifyTotp(open, code, now);
    if ("failure" in found) {
      for (const paused of this.codes.fail(
        open.map((c) => ({ id: c.id, digits: codeDigits(c) })),
        now,
      )) {
        this.audit.record("code_checks_paused", call.client, { credId: paused.credId, retryAfter: retryAfterS(paused.retryAfterMs) });
      }
      return this.fail(call, found.failure);
    }
    await this.creds.put({ ...found.cred, lastTotpStep: found.step });
    return this.admit(call, found.cred);
  }

  /** The credential proved itself: what it may do decides the rest (./credentials-gate.ts). */
  private admit(call: AgentCall, cred: Credential, tokenScope: string[] | null = null): Admission {
    const refused = this.gate.check(cred, call, tokenScope);
    if (!refused) return ok({ credId: cred.id });
    const credId = cred.id;
    switch (refused.refusal) {
      case "expired":
        // Refused as if revoked, so the caller learns nothing more; the log says why.
        return this.fail(call, "credential_expired", { credId });
      case "address_not_allowed":
        return this.fail(call, "address_not_allowed", { credId });
      case "insufficient_scope":
        this.audit.record("scope_refused", call.client, {
          credId,
          method: call.request.method.slice(0, 16),
          path: call.request.canonicalPath.slice(0, 200),
        });
        return outsideScope(call.caller, call.request).failure();
      case "rate_limited": {
        const retryAfter = retryAfterS(refused.waitMs);
        if (refused.started) this.audit.record("rate_limited", call.client, { scope: "credential", credId, retryAfter });
        return rateLimited(retryAfter, "credential").failure();
      }
    }
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
      // Compared like any code over HTTPS (paused credentials not at all), but not charged:
      // the answer is the same refusal whether it matched or not, so it tells a guesser nothing.
      const now = Date.now();
      const open = codeCandidates(await this.creds.all(), caller.code).filter((c) => this.codes.waitMs(c.id, now) === 0);
      const found = verifyTotp(open, caller.code, now);
      if (!("failure" in found)) {
        burned = { ...found.cred, lastTotpStep: found.step };
        await this.creds.put(burned);
      }
    } else if (caller.kind === "webhook") {
      const found = await verifyWebhook(await this.creds.all(), caller.format, caller.signature, body);
      if (!("failure" in found)) {
        this.replay.remember(webhookKey(found.verified), signatureExpiry(caller));
        burned = found.cred;
      }
    }
    // An RFC 9421 signature covers its http:// target URI, so it can never be replayed over HTTPS: nothing to burn.
    if (nonce) this.replay.remember(`nonce:${nonce}`, Date.now() + CHALLENGE_TTL_S * 1000);
    if (burned) this.audit.record("credential_burned", client, { credId: burned.id, kind: caller.kind, why: "sent over plain HTTP" });
  }

  /** Records a failure the worker already decided (a garbage or forged token, a bad DPoP proof). */
  recordFailure(call: AgentCall, reason: AuthFailure, at?: number): void {
    this.fail(call, reason, { at });
  }

  /** A client that must wait is held back before anything is verified. */
  blocked(call: AgentCall): Failure | null {
    const retryAfter = this.guard.retryAfter(clientKey(call.client));
    return retryAfter > 0 ? rateLimited(retryAfter, "client").failure() : null;
  }

  /** Counts and audits a failed attempt; the caller gets the one 401 (`answer`: in its scheme's terms, by default). */
  fail(call: AgentCall, reason: AuthFailure, opts: { credId?: string; at?: number; answer?: ImpgateError } = {}): Failure {
    const { started, retryAfter } = this.guard.fail(clientKey(call.client));
    const detail = { reason, kind: call.caller.kind, ...(opts.credId ? { credId: opts.credId } : {}) };
    this.audit.record("auth_failed", call.client, detail, opts.at);
    if (started) this.audit.record("rate_limited", call.client, { scope: "client", retryAfter });
    return (opts.answer ?? unauthorizedFor(call.caller)).failure();
  }

  /**
   * Remembers a single-use proof (a webhook's signature, a DPoP proof, an RFC 9421 nonce)
   * until it could no longer be accepted: null the first time; a refusal for a replay; and
   * 429 when the memory holds as many live entries as it may (never forgetting one early).
   */
  remember(call: AgentCall, key: string, until: number, credId: string, replayed: AuthFailure, answer?: ImpgateError): Failure | null {
    const seen = this.replay.remember(key, until);
    if (seen === "fresh") return null;
    if (seen === "replay") return this.fail(call, replayed, { credId, ...(answer ? { answer } : {}) });
    this.audit.record("auth_failed", call.client, { reason: "replay_memory_full", kind: call.caller.kind, credId });
    return rateLimited(this.replay.secondsUntilRoom(), "credential").failure();
  }

  /** A DPoP proof is good once, keyed on its key and `jti` (with a token or at the token endpoint alike). */
  rememberProof(call: AgentCall, proof: VerifiedProof, credId: string): Failure | null {
    return this.remember(call, dpopKey(proof), proof.replayUntil * 1000, credId, "dpop_replayed", dpopUnauthorized("invalid_dpop_proof"));
  }
}

/** The replay key of a webhook: the signature that verified (fixed by secret, timestamp and body). */
function webhookKey(verified: string): string {
  return `sig:${verified}`;
}

/** The replay key of a DPoP proof: its key and its `jti` (RFC 9449 §11.1). */
function dpopKey(proof: VerifiedProof): string {
  return `dpop ${proof.jkt} ${proof.jti}`;
}

function signatureExpiry(caller: Extract<CallerProof, { kind: "webhook" }>): number {
  const ts = caller.signature.timestamp;
  return ts === undefined ? Date.now() + UNTIMED_SIGNATURE_MEMORY_MS : (ts + WEBHOOK_TOLERANCE_S) * 1000 + 1000;
}
