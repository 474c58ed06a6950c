/**
 * What a caller can make the device's local service see, tried over the wire against the
 * real edge and daemon: raw paths exactly as written (no client-side normalisation), and
 * forwarding headers in every spelling. The local service must see neither a reserved
 * path nor a forged client address.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { STRIPPED_REQUEST_HEADERS } from "../../protocol/index.ts";
import { type Device, useSystem } from "../helpers/e2e.ts";
import { type Reply, rawRequest } from "../helpers/https.ts";

describe("the caller boundary, over the wire (real edge, real daemon, real TLS)", () => {
  const e2e = useSystem();
  let device: Device;
  let agentPath: string;
  beforeAll(async () => {
    device = await e2e.device("boundary");
    agentPath = new URL(device.imp.agentUrl).pathname;
  });

  /** A request whose path goes on the wire exactly as given, as a hand-made attack would. */
  const raw = (path: string, method: string, headers: Record<string, string>): Promise<Reply> =>
    rawRequest(e2e.system.edge.origin, path, { method, headers, ca: e2e.system.pki.caPem, body: method === "POST" ? "{}" : undefined });

  it("keeps every spelling of a reserved path from the local service", async () => {
    const agentId = agentPath.slice("/agent/".length);
    const attempts: [string, string, number][] = [
      ["POST", `${agentPath}/%5Fimpgate/messages/open-door`, 404],
      ["POST", `${agentPath}/_impgate/%6Dessages/open-door`, 404],
      ["POST", `${agentPath}//_impgate/messages/open-door`, 404],
      ["POST", `${agentPath}/_IMPGATE/messages/open-door`, 404],
      ["POST", `${agentPath}/./_impgate/messages/open-door`, 404],
      ["POST", `${agentPath}/x/%2E%2E/_impgate/messages/open-door`, 404],
      ["GET", `${agentPath}/./_messages`, 405],
      ["GET", `${agentPath}//_state`, 200], // impgate's own state API, not the device
      ["GET", `${agentPath}/a%00b`, 400],
      // The agent id with one character percent-encoded: the unknown-id 404, no shifted path.
      ["GET", `/agent/${agentId.slice(0, 5)}%${agentId.charCodeAt(5).toString(16)}${agentId.slice(6)}/hello`, 404],
    ];
    for (const [method, path, status] of attempts) {
      const res = await raw(path, method, device.auth);
      expect(res.status, `${method} ${path}: ${res.body}`).toBe(status);
      expect(res.headers["x-seen-method"], `${method} ${path}`).toBeUndefined();
    }
    expect(device.service.received.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    // The same request on an ordinary path does reach it, canonicalised.
    expect((await raw(`${agentPath}//a/./%7Eb/c/..`, "GET", device.auth)).status).toBe(200);
    expect(device.service.received.map((r) => r.url)).toEqual(["/a/~b/"]);
  });

  it("never lets a caller's forwarding headers through, and tells the service the edge's impgate-client", async () => {
    const names = STRIPPED_REQUEST_HEADERS.filter((n) => n !== "authorization" && !n.endsWith("*"));
    const forged: Record<string, string> = {};
    for (const n of [...names, "x-forwarded-for", "x-forwarded-host", "impgate-client", "impgate-credential", "cf-ipcountry"]) {
      forged[n] = "198.51.100.66";
      forged[n.replaceAll("-", "_")] = "198.51.100.66";
    }
    // CF-Connecting-IP itself is the platform's: Cloudflare replaces whatever a caller sends
    // (wrangler dev does not, so it is left out here); its underscore spelling is a forgery.
    forged.cf_connecting_ip = "198.51.100.66";
    const before = device.service.received.length;
    const res = await raw(`${agentPath}/who`, "GET", { ...forged, ...device.auth, "x-kept": "1" });
    expect(res.status).toBe(200);
    const seen = device.service.received.slice(before);
    expect(seen).toHaveLength(1);
    const headers = seen[0]?.headers ?? {};
    expect(Object.entries(headers).filter(([, v]) => String(v).includes("198.51.100.66"))).toEqual([]);
    expect(headers["x-kept"]).toBe("1");
    expect(headers["impgate-client"]).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
  });
});
