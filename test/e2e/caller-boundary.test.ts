/**
 * What a caller can make the device's local service see, tried over the wire against the
 * real edge and daemon: raw paths exactly as written (no client-side normalisation), and
 * forwarding headers in every spelling. The local service must see neither a reserved
 * path nor a forged client address.
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STRIPPED_REQUEST_HEADERS } from "../../protocol/index.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import {
  type CreatedImp,
  callerAuth,
  createImp,
  type Daemon,
  type Reply,
  type System,
  startDaemon,
  startSystem,
} from "../helpers/system.ts";

/** A request whose path goes on the wire exactly as given, as a hand-made attack would. */
function rawRequest(system: System, path: string, method: string, headers: Record<string, string>): Promise<Reply> {
  const origin = new URL(system.edge.origin);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: origin.hostname, port: origin.port, path, method, headers, ca: system.pki.caPem, agent: false, timeout: 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

describe("the caller boundary, over the wire (real edge, real daemon, real TLS)", () => {
  let system: System;
  let service: LocalService;
  let daemon: Daemon;
  let imp: CreatedImp;
  let auth: Record<string, string>;
  let agentPath: string;

  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService();
    imp = await createImp(system, "boundary");
    agentPath = new URL(imp.agentUrl).pathname;
    daemon = startDaemon(imp.config, ["--forward", service.url]);
    auth = await callerAuth(system, imp);
    await daemon.waitReady();
  });
  afterAll(async () => {
    await daemon?.stop();
    await service?.close();
    await system?.stop();
  });

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
      const res = await rawRequest(system, path, method, auth);
      expect(res.status, `${method} ${path}: ${res.body}`).toBe(status);
      expect(res.headers["x-seen-method"], `${method} ${path}`).toBeUndefined();
    }
    expect(service.received.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    // The same request on an ordinary path does reach it, canonicalised.
    expect((await rawRequest(system, `${agentPath}//a/./%7Eb/c/..`, "GET", auth)).status).toBe(200);
    expect(service.received.map((r) => r.url)).toEqual(["/a/~b/"]);
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
    const before = service.received.length;
    const res = await rawRequest(system, `${agentPath}/who`, "GET", { ...forged, ...auth, "x-kept": "1" });
    expect(res.status).toBe(200);
    const seen = service.received.slice(before);
    expect(seen).toHaveLength(1);
    const headers = seen[0]?.headers ?? {};
    expect(Object.entries(headers).filter(([, v]) => String(v).includes("198.51.100.66"))).toEqual([]);
    expect(headers["x-kept"]).toBe("1");
    expect(headers["impgate-client"]).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
  });
});
