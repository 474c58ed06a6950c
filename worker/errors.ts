/**
 * Where a refusal becomes a response, once for the whole app: routes and middleware throw
 * `ImpgateError` (edge/errors.ts), an RPC's failure is thrown by `orThrow`, and `onError`
 * answers every one of them with the one JSON shape. Anything else is a bug: logged, and
 * answered 500 without a stack trace or a secret.
 */
import type { Context } from "hono";
import { errorResponse, ImpgateError } from "../edge/errors.ts";
import { log } from "../edge/log.ts";
import { agentNotFound } from "../edge/refusals.ts";

/** The single 404: unknown, malformed, rotated and revoked agent ids must be indistinguishable. */
export function notFound(): Response {
  return agentNotFound().response();
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ImpgateError) return err.response();
  log("error", `worker ${c.req.method} ${new URL(c.req.url).pathname.split("/").slice(0, 2).join("/")}`, "unhandled", err);
  return errorResponse("internal", "Internal error");
}
