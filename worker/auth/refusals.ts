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

export function rateLimited(retryAfterS: number): ApiError {
  return new ApiError(429, "rate_limited", "Too many failed attempts", { "Retry-After": String(retryAfterS) });
}

export function insecure(): ApiError {
  return new ApiError(401, "insecure_access", "Insecure access forbidden");
}

/** The caller's address as the platform saw it (Cloudflare sets CF-Connecting-IP; locally it may be absent). */
export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip")?.slice(0, 64) || "unknown";
}
