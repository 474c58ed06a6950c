/**
 * Caller credential formats, shared by the edge (which checks them) and the `impgate`
 * CLI (which produces them). WebCrypto only, so it runs in workerd and Node alike.
 */
import { concatBytes, toHex } from "./bytes.ts";

/** Longest lifetime (exp - iat) the edge accepts for a caller's signed assertion. */
export const ASSERTION_MAX_LIFETIME_S = 60;
/** How long a challenge nonce is valid. */
export const CHALLENGE_TTL_S = 60;
/** Algorithms a caller may sign assertions with; each credential is bound to exactly one. */
export const CALLER_ALGORITHMS = ["ES256", "EdDSA", "HS256"] as const;
export type CallerAlgorithm = (typeof CALLER_ALGORITHMS)[number];

/** Access tokens the edge mints (RFC 9068 style). */
export const ACCESS_TOKEN_TYP = "at+jwt";
export const ACCESS_TOKEN_ISSUER = "impgate";

/**
 * Rotating codes: RFC 6238 with SHA-256, 30 s steps, one step of drift. New credentials
 * have 8 digits: guessing is bounded per credential, and 8 digits let that bound hold
 * without pausing the owner's code for long (README, "Brute force").
 */
export const TOTP = { algorithm: "SHA256", digits: 8, period: 30, window: 1 } as const;
/** Credentials made before codes had 8 digits have 6 (a credential records its own). */
export const TOTP_LEGACY_DIGITS = 6;
export const TOTP_HEADER = "x-imp-code";

export const WEBHOOK_FORMATS = ["github", "stripe", "generic"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
/** The header each format signs into. `stripe` and `generic` share the `t=…,v1=…` scheme. */
export const WEBHOOK_HEADERS: Record<WebhookFormat, string> = {
  github: "x-hub-signature-256",
  stripe: "stripe-signature",
  generic: "impgate-signature",
};
/** Timestamped signatures older or newer than this are refused. */
export const WEBHOOK_TOLERANCE_S = 300;

export interface ParsedSignature {
  /** Unix seconds, for the timestamped formats. */
  timestamp?: number;
  /** Candidate signatures, lowercase hex. */
  signatures: string[];
}

/**
 * Parses a signature header; null when it is not exactly of the format's shape. Strict on
 * purpose (lowercase hex, no stray spaces), as the senders write them: one credential has
 * one spelling, so a mutated header is never an equivalent one.
 */
export function parseWebhookSignature(format: WebhookFormat, header: string): ParsedSignature | null {
  if (header.length > 2048) return null;
  if (format === "github") {
    const hex = /^sha256=([0-9a-f]{64})$/.exec(header)?.[1];
    return hex ? { signatures: [hex] } : null;
  }
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [, scheme, value = ""] = /^(t|v1|v0)=(.*)$/.exec(part) ?? [];
    if (scheme === undefined) return null;
    if (scheme === "t" && timestamp === undefined && /^[1-9]\d{0,11}$/.test(value)) timestamp = Number(value);
    else if (scheme === "v1" && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
    else if (scheme !== "v0") return null;
  }
  return timestamp !== undefined && signatures.length > 0 && signatures.length <= 8 ? { timestamp, signatures } : null;
}

/** The bytes a webhook sender signs: the raw body, or `<t>.<body>` for timestamped formats. */
export function webhookSignedPayload(format: WebhookFormat, body: Uint8Array, timestamp?: number): Uint8Array {
  if (format === "github") return body;
  return concatBytes(new TextEncoder().encode(`${timestamp}.`), body);
}

export function hmacKey(secret: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/**
 * True if every dot-separated segment is canonical base64url (no padding bits set), so a
 * token has exactly one spelling and a character flip is never an equivalent token.
 */
export function isCanonicalCompact(token: string): boolean {
  const parts = token.split(".");
  if (parts.length !== 3) return false;
  for (const part of parts) {
    if (!/^[A-Za-z0-9_-]*$/.test(part) || part.length % 4 === 1) return false;
    const tail = part.length % 4;
    if (tail === 0 || part.length === 0) continue;
    // The last character's unused low bits must be zero: 4 bits when 2 chars remain, 2 bits when 3 remain.
    const value = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(part.at(-1) ?? "");
    if ((tail === 2 && (value & 0x0f) !== 0) || (tail === 3 && (value & 0x03) !== 0)) return false;
  }
  return true;
}

/** Signs a webhook body as a sender of that format would: returns the header to send. */
export async function signWebhook(
  format: WebhookFormat,
  secret: string,
  body: Uint8Array,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<[string, string]> {
  const mac = toHex(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), webhookSignedPayload(format, body, timestamp)));
  return [WEBHOOK_HEADERS[format], format === "github" ? `sha256=${mac}` : `t=${timestamp},v1=${mac}`];
}
