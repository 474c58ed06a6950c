/**
 * Authentication of the admin API: `Authorization: Bearer <ADMIN_SECRET>`, compared in
 * constant time. Without a configured secret the API is off rather than open. Failures are
 * audited edge-wide (durable-objects/edge-audit.ts, `GET /admin/audit`) and throttled per
 * client: the audit object keeps the count and each isolate remembers its verdict, so a
 * client that must wait is refused with 429 before its secret is even compared.
 */
import type { MiddlewareHandler } from "hono";
import { EDGE_AUDIT_NAME } from "../../durable-objects/edge-audit.ts";
import { ADMIN_POLICY, RateGuard } from "../../edge/auth/rate-guard.ts";
import { clientAddress, clientKey } from "../../edge/client.ts";
import { ImpgateError } from "../../edge/errors.ts";
import { rateLimited } from "../../edge/refusals.ts";
import type { AppEnv } from "../env.ts";

/** This isolate's copy of the audit object's verdicts (and its own count, in case that object is unreachable). */
const localGuard = new RateGuard(ADMIN_POLICY);

export const authenticateAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const secret = c.env.ADMIN_SECRET;
  if (!secret) throw new ImpgateError("admin_disabled", "The admin API is not configured (set ADMIN_SECRET)");
  const client = clientAddress(c.req.raw);
  const key = clientKey(client);
  const wait = localGuard.retryAfter(key);
  if (wait) throw rateLimited(wait);
  const authorization = c.req.header("authorization");
  const presented = /^Bearer (.+)$/.exec(authorization ?? "")?.[1] ?? "";
  if (await sameSecret(presented, secret)) return next();

  localGuard.fail(key);
  const detail = { reason: authorization === undefined ? "missing" : "wrong_secret", method: c.req.method, path: c.req.path.slice(0, 128) };
  // Awaited: the audit entry is the point, and the object's count is the one that spans isolates.
  const answer = await c.env.EDGE_AUDIT.getByName(EDGE_AUDIT_NAME)
    .adminAuthFailed(client, detail)
    .catch(() => null);
  const retryAfter = answer?.ok ? answer.value : 0;
  if (retryAfter > 0) localGuard.block(key, retryAfter);
  throw new ImpgateError("unauthorized", "Admin credentials required", { headers: { "WWW-Authenticate": 'Bearer realm="impgate-admin"' } });
};

/** Compares digests, so neither content nor length leaks through timing. */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(a)), crypto.subtle.digest("SHA-256", enc.encode(b))]);
  return crypto.subtle.timingSafeEqual(da, db);
}
