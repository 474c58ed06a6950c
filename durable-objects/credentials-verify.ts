/**
 * How each credential kind proves itself: a signed assertion (jwt, jwt-secret), a webhook
 * signature, a rotating code. (RFC 9421 signed requests: edge/auth/http-signature.ts.)
 */
import { importJWK, jwtVerify } from "jose";
import * as OTPAuth from "otpauth";
import { type AuthFailure, joseFailure } from "../edge/auth/failures.ts";
import {
  ASSERTION_MAX_LIFETIME_S,
  fromHex,
  hmacKey,
  type ParsedSignature,
  TOTP,
  TOTP_LEGACY_DIGITS,
  toHex,
  WEBHOOK_TOLERANCE_S,
  type WebhookFormat,
  webhookSignedPayload,
} from "../protocol/index.ts";
import type { Credential } from "./credentials.ts";

/**
 * Checks a caller's signed assertion with exactly the credential's own algorithm and key;
 * answers the `scope` it asks for (unchecked: absent, or whatever the caller wrote), or why not.
 */
export async function verifyAssertion(
  cred: Credential,
  assertion: string,
  expect: { audience: string; nonce: string },
): Promise<{ failure: AuthFailure } | { scope: unknown }> {
  if (!cred.alg) return { failure: "malformed" };
  const material = cred.kind === "jwt-secret" ? cred.secret : cred.publicJwk;
  if (!material) return { failure: "malformed" };
  const key = typeof material === "string" ? new TextEncoder().encode(material) : await importJWK(material, cred.alg);
  try {
    const { payload } = await jwtVerify(assertion, key, {
      algorithms: [cred.alg],
      issuer: cred.id,
      audience: expect.audience,
      requiredClaims: ["iat", "exp", "nonce"],
      maxTokenAge: `${ASSERTION_MAX_LIFETIME_S}s`,
      clockTolerance: 5,
    });
    if (payload.nonce !== expect.nonce) return { failure: "bad_nonce" };
    // requiredClaims above guarantees both.
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > ASSERTION_MAX_LIFETIME_S) return { failure: "lifetime_too_long" };
    return { scope: payload.scope };
  } catch (err) {
    return { failure: joseFailure(err) };
  }
}

/**
 * The webhook credential whose secret signed this body, and the signature that verified,
 * or why none did. That signature (lowercase hex, as computed) is what replay memory keys
 * on: it is fixed by the secret, timestamp and body, whatever else the header carried.
 */
export async function verifyWebhook(
  creds: Credential[],
  format: WebhookFormat,
  sig: ParsedSignature,
  body: Uint8Array,
  now = Date.now(),
): Promise<{ cred: Credential; verified: string } | { failure: AuthFailure }> {
  if (sig.timestamp !== undefined && Math.abs(now / 1000 - sig.timestamp) > WEBHOOK_TOLERANCE_S) return { failure: "stale_signature" };
  const payload = webhookSignedPayload(format, body, sig.timestamp);
  for (const cred of creds) {
    if (cred.kind !== "webhook" || cred.format !== format || cred.revokedAt || !cred.secret) continue;
    const key = await hmacKey(cred.secret, "verify");
    for (const hex of sig.signatures) {
      const mac = fromHex(hex);
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify("HMAC", key, mac, payload)) return { cred, verified: toHex(mac) };
    }
  }
  return { failure: "bad_signature" };
}

/** How many digits a code credential's codes have. */
export function codeDigits(cred: Credential): number {
  return cred.digits ?? TOTP_LEGACY_DIGITS;
}

/** The code credentials a code could match: live, and with as many digits as the code. */
export function codeCandidates(creds: Credential[], code: string): Credential[] {
  return creds.filter((c) => c.kind === "totp" && !c.revokedAt && c.secret && codeDigits(c) === code.length);
}

/** The credential and step a rotating code matches among `candidates` (see codeCandidates), each step usable once. */
export function verifyTotp(
  candidates: Credential[],
  code: string,
  now = Date.now(),
): { cred: Credential; step: number } | { failure: AuthFailure } {
  if (!/^\d+$/.test(code)) return { failure: "malformed" };
  let reused = false;
  for (const cred of candidates) {
    if (cred.kind !== "totp" || cred.revokedAt || !cred.secret || codeDigits(cred) !== code.length) continue;
    const delta = OTPAuth.TOTP.validate({
      token: code,
      secret: OTPAuth.Secret.fromBase32(cred.secret),
      algorithm: TOTP.algorithm,
      digits: codeDigits(cred),
      period: TOTP.period,
      window: TOTP.window,
      timestamp: now,
    });
    if (delta === null) continue;
    const step = Math.floor(now / 1000 / TOTP.period) + delta;
    if (cred.lastTotpStep !== undefined && step <= cred.lastTotpStep) {
      reused = true;
      continue;
    }
    return { cred, step };
  }
  return { failure: reused ? "code_reused" : "bad_code" };
}
