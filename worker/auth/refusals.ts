/**
 * The edge's refusals to callers: one 401 for every authentication failure, whatever the
 * reason (which goes to the audit log only), and 429 with Retry-After past the rate limit.
 */
import { ApiError } from "../errors.ts";

/** The WWW-Authenticate value of every caller refusal (also sent from the imp's object). */
export function bearerChallenge(error: "invalid_request" | "invalid_token" = "invalid_token"): string {
  return `Bearer realm="impgate", error="${error}"`;
}

export function unauthorized(error: "invalid_request" | "invalid_token" = "invalid_token"): ApiError {
  return new ApiError(401, "unauthorized", "Authentication required", { "WWW-Authenticate": bearerChallenge(error) });
}

/** What waits: this client (its own failures), or a credential (a rotating code's guess budget). */
export function rateLimitMessage(scope: "client" | "credential" = "client"): string {
  return scope === "client" ? "Too many failed attempts" : "Too many attempts for this credential; try again later";
}

export function rateLimited(retryAfterS: number, scope: "client" | "credential" = "client"): ApiError {
  return new ApiError(429, "rate_limited", rateLimitMessage(scope), { "Retry-After": String(retryAfterS) });
}

export function insecure(): ApiError {
  return new ApiError(401, "insecure_access", "Insecure access forbidden");
}

/** The caller's address as the platform saw it (Cloudflare sets CF-Connecting-IP; locally it may be absent). */
export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip")?.slice(0, 64) || "unknown";
}

/**
 * Whom failed attempts are counted against: the address, except that an IPv6 address counts
 * by its /64, which one subscriber holds whole (changing addresses inside it is free).
 */
export function clientKey(address: string): string {
  // IPv4, and IPv4 carried in IPv6 (::ffff:192.0.2.1): the whole address.
  if (!address.includes(":") || address.includes(".")) return address;
  const [head = "", tail] = address.toLowerCase().split("::");
  const front = head ? head.split(":") : [];
  // A "::" stands for the missing zero groups.
  const groups =
    tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - tail.split(":").length)).fill("0")];
  if (groups.length < 4 || !groups.slice(0, 4).every((g) => /^[0-9a-f]{1,4}$/.test(g))) return address;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
