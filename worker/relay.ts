/**
 * What crosses the relay between a caller and the device: which request headers reach the
 * device, and the device's reply (or why there is none) as the HTTP response. Shared by the
 * agent route and the agent code's `device.request`.
 */
import type { RelayReply } from "../edge/agent-call.ts";
import { CLIENT_HEADER, isHopByHop, isStrippedRequestHeader } from "../protocol/index.ts";

/**
 * The caller's headers the device may see (protocol/relay-headers.ts says which are not,
 * and why), plus the edge's own `impgate-client`: the address the edge saw.
 */
export function forwardableHeaders(headers: Headers, client: string): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => {
    if (!isStrippedRequestHeader(name)) out.push([name, value]);
  });
  out.push([CLIENT_HEADER, client]);
  return out;
}

/**
 * Headers of a relayed reply that would act beyond the device's own agent URL: on the whole
 * origin every agent URL shares (reporting every request to a collector of the device's,
 * rerouting connections, a service worker over every path, clearing other agents' cookies),
 * or against the edge's own transport policy. A device's local service, or a compromised
 * device, is not trusted with them; the edge drops them.
 */
export const DROPPED_REPLY_HEADERS: readonly string[] = [
  "set-cookie2",
  "clear-site-data",
  "service-worker-allowed",
  "alt-svc",
  "nel",
  "report-to",
  "reporting-endpoints",
  "strict-transport-security",
  "public-key-pins",
  "public-key-pins-report-only",
  "expect-ct",
  // Credentialed cross-origin reads of the edge are never the device's to grant.
  "access-control-allow-credentials",
];

/** A cookie token (RFC 6265 §4.1.1). */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The attributes a device's cookie keeps (Domain, Partitioned and anything unknown are dropped). */
const KEPT_ATTRIBUTES = new Set(["expires", "max-age", "samesite", "secure", "httponly"]);

/** Control characters (but tab) have no place in a cookie: a header that holds one is not passed on. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/**
 * A device's `Set-Cookie`, confined to its own agent URL: no Domain (host-only), and its Path
 * put under `<agentPath>/`, so it is never sent to another agent URL, let alone elsewhere on
 * the edge. Null (dropped) for a cookie that cannot be confined: no name, a `__Host-` name
 * (which must have Path=/), or control characters.
 */
export function confineCookie(value: string, agentPath: string): string | null {
  const [pair = "", ...attributes] = value.split(";");
  const eq = pair.indexOf("=");
  const name = eq < 0 ? "" : pair.slice(0, eq).trim();
  if (!COOKIE_NAME.test(name) || /^__host-/i.test(name) || hasControlCharacter(value)) return null;
  let path = "/";
  const kept: string[] = [];
  for (const attribute of attributes) {
    const at = attribute.indexOf("=");
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const arg = at < 0 ? "" : attribute.slice(at + 1).trim();
    if (key === "path") path = arg.startsWith("/") ? arg : "/";
    else if (KEPT_ATTRIBUTES.has(key)) kept.push(at < 0 ? key : `${key}=${arg}`);
  }
  return [`${name}=${pair.slice(eq + 1).trim()}`, `Path=${agentPath}${path}`, ...kept].join("; ");
}

/** What the caller's reply may carry of what the device (or agent code) sent, confined to `agentPath`. */
function untrustedHeaders(reply: RelayReply, agentPath: string): Headers {
  const headers = new Headers();
  for (const [name, value] of reply.headers) {
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || DROPPED_REPLY_HEADERS.includes(lower)) continue;
    if (lower === "set-cookie") {
      const cookie = confineCookie(value, agentPath);
      if (cookie) headers.append("set-cookie", cookie);
      continue;
    }
    headers.append(name, value);
  }
  // The edge's own, whatever the device sent (the edge's HSTS is added by the security headers, over HTTPS).
  headers.set("x-content-type-options", "nosniff");
  // The operator's opt-in: a reply is shown as a sandboxed document with an origin of its own (scripts, forms off).
  if (reply.sandbox) headers.append("content-security-policy", "sandbox");
  return headers;
}

/**
 * The device's reply (or the agent code's response) as the caller's response. With
 * `noStore` (a reply for an authenticated caller) it is `Cache-Control: no-store` whatever
 * the device said, so no shared cache hands it to anyone else; without it (the anonymous
 * callers of a `--public` imp, and agent code's own `device.request`) the device's
 * Cache-Control stands. The relay's own refusals (device offline, no answer in time, gone)
 * are Failures, answered like every other refusal: always `no-store`.
 *
 * With `agentPath` (`/agent/<agentId>`: a reply that goes to a caller, perhaps a browser)
 * the reply is untrusted content: see untrustedHeaders above.
 */
export function replyResponse(reply: RelayReply, options: { noStore: boolean; agentPath?: string }): Response {
  let headers: Headers;
  if (options.agentPath !== undefined) headers = untrustedHeaders(reply, options.agentPath);
  else {
    headers = new Headers();
    for (const [name, value] of reply.headers) if (!isHopByHop(name)) headers.append(name, value);
  }
  if (options.noStore) headers.set("cache-control", "no-store");
  const nullBody = reply.status === 204 || reply.status === 304 || reply.status < 200;
  return new Response(nullBody ? null : reply.body, { status: reply.status < 200 ? 502 : reply.status, headers });
}
