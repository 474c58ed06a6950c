/**
 * The console's response headers: a strict Content-Security-Policy (scripts and styles only
 * from the console's own hashed files, no inline script or style, no framing, forms only to
 * itself), no Referer ever (an agent URL must not leak through one), and nothing cached.
 */
import type { MiddlewareHandler } from "hono";

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const consoleHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // A websocket upgrade's 101 (the live request log) has immutable headers and no page to protect.
  if (c.res.status === 101) return;
  const h = c.res.headers;
  h.set("Content-Security-Policy", CONSOLE_CSP);
  h.set("X-Frame-Options", "DENY");
  h.set("Referrer-Policy", "no-referrer");
  h.set("Cross-Origin-Opener-Policy", "same-origin");
  h.set("Cross-Origin-Resource-Policy", "same-origin");
  h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=(), serial=()");
  // Pages hold what only a signed-in operator may see: never cached (the hashed assets are).
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
};
