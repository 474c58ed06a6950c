/**
 * Client-address and forwarding headers, tried as a caller would: a local service behind a
 * proxy believes `X-Forwarded-For`, `Forwarded`, `True-Client-IP`…, so none of them may
 * come from a caller. The device sees the edge's own `impgate-client` instead.
 */
import { describe, expect, it } from "vitest";
import { HOP_BY_HOP, STRIPPED_REQUEST_HEADERS } from "../../protocol/index.ts";
import { callerFetch, connectedDevices } from "./helpers.ts";

/** Each listed header as a caller would send it (a prefix as one concrete name), and in underscore spelling. */
function forgedHeaders(): [string, string][] {
  const names = STRIPPED_REQUEST_HEADERS.filter((n) => n !== "authorization" && n !== "cf-*").map((n) =>
    n.endsWith("*") ? `${n.slice(0, -1)}for` : n,
  );
  const extra = ["x-forwarded-host", "x-forwarded-proto", "cf-ipcountry", "impgate-client", "impgate-credential", "x-original-url"];
  const all = [...names, ...extra];
  return [
    ...all.map((n): [string, string] => [n, "198.51.100.66"]),
    ...all.map((n): [string, string] => [n.replaceAll("-", "_"), "198.51.100.66"]),
  ];
}

describe("forwarding headers from a caller", () => {
  const { online } = connectedDevices();

  it("never reach the device, which sees the edge's own impgate-client", async () => {
    const { imp, device } = await online();
    device.serve(() => ({ status: 204 }));
    const headers = new Headers(forgedHeaders());
    headers.set("cf-connecting-ip", "203.0.113.7"); // what Cloudflare sets: the address the edge saw
    headers.set("x-kept", "1");
    const res = await callerFetch(imp, "/who", { headers });
    expect(res.status).toBe(204);
    const seen = device.requests[0]?.headers ?? [];
    expect(seen.filter(([, v]) => v.includes("198.51.100.66"))).toEqual([]);
    expect(seen.filter(([n]) => n.toLowerCase().replaceAll("_", "-") === "impgate-client")).toEqual([["impgate-client", "203.0.113.7"]]);
    expect(seen).toContainEqual(["x-kept", "1"]);
    for (const [name] of seen) {
      expect([...HOP_BY_HOP, ...STRIPPED_REQUEST_HEADERS], name).not.toContain(name.toLowerCase().replaceAll("_", "-"));
    }
  });
});
