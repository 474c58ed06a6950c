/** Headers every response carries; HSTS only over HTTPS, where browsers honour it (RFC 6797 §7.2). */
import type { MiddlewareHandler } from "hono";
import { isHttps } from "./https-only.ts";

const HSTS = "max-age=63072000; includeSubDomains";

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // A websocket upgrade's 101 has immutable headers and no body to protect.
  if (c.res.status === 101) return;
  if (isHttps(c.req.raw)) c.res.headers.set("Strict-Transport-Security", HSTS);
  c.res.headers.set("X-Content-Type-Options", "nosniff");
};
