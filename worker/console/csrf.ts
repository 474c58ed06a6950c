/**
 * Cross-site request forgery: every state change in the console is a POST that must come
 * from a console page, twice over. The browser says where it came from (`Origin`, or
 * `Sec-Fetch-Site` where it sends no Origin), and it must be the console's own origin; and
 * the form carries the session's CSRF token, which a page of another origin cannot read.
 * (The session cookie is SameSite=Strict besides, so a cross-site POST arrives signed out.)
 */
import type { Context } from "hono";

/**
 * Whether the browser says this request came from a page of the console's own origin. The
 * console's `Referrer-Policy: no-referrer` makes browsers send `Origin: null` with its own
 * form posts, so then (or with no Origin) `Sec-Fetch-Site`, which no page can set, decides.
 */
export function fromConsolePage(c: Context): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== "null") return origin === new URL(c.req.url).origin;
  return c.req.header("sec-fetch-site") === "same-origin";
}

export function sameToken(sent: unknown, expected: string): boolean {
  if (typeof sent !== "string") return false;
  const a = new TextEncoder().encode(sent);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && crypto.subtle.timingSafeEqual(a, b);
}
