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
 * The device's reply (or the agent code's response) as the caller's response. With
 * `noStore` (a reply for an authenticated caller) it is `Cache-Control: no-store` whatever
 * the device said, so no shared cache hands it to anyone else; without it (the anonymous
 * callers of a `--public` imp, and agent code's own `device.request`) the device's
 * Cache-Control stands. The relay's own refusals (device offline, no answer in time, gone)
 * are Failures, answered like every other refusal: always `no-store`.
 */
export function replyResponse(reply: RelayReply, options: { noStore: boolean }): Response {
  const headers = new Headers();
  for (const [name, value] of reply.headers) if (!isHopByHop(name)) headers.append(name, value);
  if (options.noStore) headers.set("cache-control", "no-store");
  const nullBody = reply.status === 204 || reply.status === 304 || reply.status < 200;
  return new Response(nullBody ? null : reply.body, { status: reply.status < 200 ? 502 : reply.status, headers });
}
