/**
 * Caller credential formats, shared by the edge (which checks them) and the `impgate`
 * CLI (which produces them). WebCrypto only, so it runs in workerd and Node alike.
 */

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

/** Rotating codes: RFC 6238 with SHA-256, 6 digits, 30 s steps, one step of drift. */
export const TOTP = { algorithm: "SHA256", digits: 6, period: 30, window: 1 } as const;
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

/** Parses a signature header; null when it is not of the format's shape. */
export function parseWebhookSignature(format: WebhookFormat, header: string): ParsedSignature | null {
  if (header.length > 2048) return null;
  if (format === "github") {
    const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
    return m ? { signatures: [m[1]!.toLowerCase()] } : null;
  }
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value = ""] = part.trim().split("=", 2) as [string, string?];
    if (key === "t" && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === "v1" && /^[0-9a-fA-F]{64}$/.test(value)) signatures.push(value.toLowerCase());
  }
  return timestamp !== undefined && signatures.length > 0 && signatures.length <= 8 ? { timestamp, signatures } : null;
}

/** The bytes a webhook sender signs: the raw body, or `<t>.<body>` for timestamped formats. */
export function webhookSignedPayload(format: WebhookFormat, body: Uint8Array, timestamp?: number): Uint8Array {
  if (format === "github") return body;
  const prefix = new TextEncoder().encode(`${timestamp}.`);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

export async function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Signs a webhook body as a sender of that format would: returns the header to send. */
export async function signWebhook(format: WebhookFormat, secret: string, body: Uint8Array, timestamp = Math.floor(Date.now() / 1000)): Promise<[string, string]> {
  const mac = toHex(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), webhookSignedPayload(format, body, timestamp)));
  return [WEBHOOK_HEADERS[format], format === "github" ? `sha256=${mac}` : `t=${timestamp},v1=${mac}`];
}
