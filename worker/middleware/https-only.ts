/**
 * HTTPS only. The scheme comes from the URL this edge received, never from a header a
 * client can set: `X-Forwarded-Proto: https` over plain HTTP is still plain HTTP.
 */
import type { MiddlewareHandler } from "hono";
import { ImpgateError } from "../../edge/errors.ts";

export function isHttps(req: Request): boolean {
  // Request.url is a serialized URL: its scheme is already lower-case, so no parse is needed.
  return req.url.startsWith("https:");
}

export const httpsOnly: MiddlewareHandler = async (c, next) => {
  if (!isHttps(c.req.raw)) throw new ImpgateError("insecure_access", "Insecure access forbidden");
  await next();
};
