/**
 * Which headers cross the relay between a caller and the device's local service. One list
 * each, shared by the edge (worker/relay.ts) and the daemon (device/tunnel.ts), and the
 * README's table is tested against them.
 *
 * Header names are compared case-insensitively with `_` and `-` alike: CGI, WSGI, PHP and
 * Rack read `X_Forwarded_For` and `X-Forwarded-For` as the same `HTTP_X_FORWARDED_FOR`.
 */

import { TOTP_HEADER } from "./caller.ts";

/** Describe one connection (RFC 9110 §7.6.1) or its framing: each hop sets its own, in both directions. */
export const HOP_BY_HOP: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "content-length",
];

/**
 * What the edge never passes from a caller to the device, beyond HOP_BY_HOP: the caller's
 * credentials, and every header a local service might believe about who is calling, over
 * what, or for which URL and method (a proxy in front of it would have set them). A name
 * ending in `*` is a prefix. The edge sets `impgate-client` itself: the address it saw.
 */
export const STRIPPED_REQUEST_HEADERS: readonly string[] = [
  // the caller's credential, the edge's business only
  "authorization",
  TOTP_HEADER,
  // client address and forwarding chain
  "forwarded",
  "via",
  "x-forwarded-*",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "client-ip",
  "x-cluster-client-ip",
  "fastly-client-ip",
  "x-originating-ip",
  "x-remote-ip",
  "x-remote-addr",
  "x-original-forwarded-for",
  "x-envoy-external-address",
  // scheme, host, URL and method as a proxy would claim them
  "front-end-https",
  "x-url-scheme",
  "x-host",
  "x-original-host",
  "x-original-url",
  "x-rewrite-url",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  // the platform's and impgate's own
  "cf-*",
  "impgate-*",
];

/** The one header the edge adds to every relayed request: the caller's address as the edge saw it. */
export const CLIENT_HEADER = "impgate-client";

/** A header name as the list compares it: lower case, `_` read as `-`. */
export function headerKey(name: string): string {
  return name.toLowerCase().replaceAll("_", "-");
}

function matcher(list: readonly string[]): (name: string) => boolean {
  const exact = new Set(list.filter((n) => !n.endsWith("*")));
  const prefixes = list.filter((n) => n.endsWith("*")).map((n) => n.slice(0, -1));
  // Every header of every relayed request is asked about: answers are remembered per name (bounded).
  const answers = new Map<string, boolean>();
  return (name) => {
    let answer = answers.get(name);
    if (answer === undefined) {
      const key = headerKey(name);
      answer = exact.has(key) || prefixes.some((p) => key.startsWith(p));
      if (answers.size >= 1024) answers.clear();
      answers.set(name, answer);
    }
    return answer;
  };
}

export const isHopByHop: (name: string) => boolean = matcher(HOP_BY_HOP);

/** Whether a caller's request header is dropped before the request reaches the device. */
export const isStrippedRequestHeader: (name: string) => boolean = matcher([...HOP_BY_HOP, ...STRIPPED_REQUEST_HEADERS]);
