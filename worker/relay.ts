/**
 * What crosses the relay between a caller and the device: which request headers reach the
 * device, and the device's reply (or why there is none) as the HTTP response. Shared by the
 * agent route and the agent code's `device.request`.
 */
import type { AgentResult } from "../durable-objects/imp-session.ts";
import { CLIENT_HEADER, isHopByHop, isStrippedRequestHeader } from "../protocol/index.ts";
import { errorResponse } from "./errors.ts";

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
 * The device's reply, or the relay's own refusal; null for a caller denial, which is not the relay's to answer.
 * With `noStore` (a reply for an authenticated caller) the reply is `Cache-Control: no-store`
 * whatever the device said, so no shared cache hands it to anyone else; without it (the
 * anonymous callers of a `--public` imp, and agent code's own `device.request`) the
 * device's Cache-Control stands. The relay's own refusals are always `no-store`.
 */
export function relayResponse(result: AgentResult, options: { noStore: boolean }): Response | null {
  switch (result.kind) {
    case "reply": {
      const headers = new Headers();
      for (const [name, value] of result.headers) if (!isHopByHop(name)) headers.append(name, value);
      if (options.noStore) headers.set("cache-control", "no-store");
      const nullBody = result.status === 204 || result.status === 304 || result.status < 200;
      return new Response(nullBody ? null : result.body, { status: result.status < 200 ? 502 : result.status, headers });
    }
    case "offline":
      return errorResponse(503, "device_offline", "The device is offline", { "Retry-After": "10" });
    case "timeout":
      return errorResponse(504, "device_timeout", "The device did not answer in time");
    case "device_gone":
      return errorResponse(502, "device_disconnected", "The device disconnected before answering");
    default:
      return null;
  }
}
