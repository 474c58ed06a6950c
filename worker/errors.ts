/**
 * One error shape for every refusal: `{ error: { code, message } }`. Routes throw
 * `ApiError`; `onError` turns it (and anything unexpected) into the response, so no
 * stack trace or secret ever reaches a caller.
 */

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { log } from "../edge/log.ts";

export class ApiError extends HTTPException {
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: ConstructorParameters<typeof HTTPException>[0], code: string, message: string, headers: Record<string, string> = {}) {
    super(status, { message });
    this.code = code;
    this.headers = headers;
  }
}

export function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** The single 404: unknown, malformed, rotated and revoked agent ids must be indistinguishable. */
export function notFound(): Response {
  return errorResponse(404, "not_found", "Not found");
}

/** The same 404, thrown from deep in a request (e.g. when the imp's object says the URL is not current). */
export function notFoundError(): HTTPException {
  return new HTTPException(404, { res: notFound() });
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return errorResponse(err.status, err.code, err.message, err.headers);
  if (err instanceof HTTPException && err.res) return err.getResponse();
  if (err instanceof HTTPException) return errorResponse(err.status, "http_error", err.message || "Request refused");
  log("error", `worker ${c.req.method} ${new URL(c.req.url).pathname.split("/").slice(0, 2).join("/")}`, "unhandled", err);
  return errorResponse(500, "internal", "Internal error");
}
