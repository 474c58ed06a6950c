/**
 * Scopes, from the attacker's side: a caller holding a credential (or a token) for one path
 * or API tries to reach anything else through encoding, case, dot segments and method
 * overrides. Each attempt is refused with 403 `insufficient_scope`, and nothing reaches the
 * device. Token scopes are checked in the worker; credentials without tokens (webhooks) in
 * the imp's object; both on the canonical path.
 */
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../protocol/index.ts";
import { auditEvents, edgeFetch, eventually } from "./helpers.ts";
import {
  addCredential,
  bearerFetch,
  changeCredential,
  expectOutsideScope,
  jwtCaller,
  onlineImps,
  requestToken,
  tokenFor,
} from "./least-privilege.ts";

const online = onlineImps();

describe("a credential's scope", () => {
  it("without --scope reaches the relay, never the agent's own APIs", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false });
    const token = await tokenFor(imp, caller, { dpop: false });
    for (const [method, path] of [
      ["GET", "/_state"],
      ["PUT", "/_state/door"],
      ["POST", "/_messages?name=open"],
      ["GET", "/_events"],
    ] as const) {
      await expectOutsideScope(
        await bearerFetch(token, `${imp.agentUrl}${path}`, { method, body: method === "GET" ? null : "{}" }),
        device,
      );
    }
    expect((await bearerFetch(token, `${imp.agentUrl}/anything/at/all`, { method: "DELETE" })).status).toBe(200);
    expect(device.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["DELETE /anything/at/all"]);
  });

  it("is refused on any other path, however the path is spelled, and names the API scope missing", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false, scope: ["POST /hooks/github", "GET /files/**"] });
    const token = await tokenFor(imp, caller, { dpop: false });
    const attempts: [string, string][] = [
      ["GET", "/hooks/github"], // another method
      ["POST", "/HOOKS/github"], // case: a case-insensitive service would serve /hooks/github, but that is not this path
      ["POST", "/hooks/github/../../admin"], // dot segments, resolved before the check
      ["POST", "/hooks/%2e%2e/admin"], // encoded dots
      ["POST", "/hooks/github/"], // the trailing slash is another path
      ["GET", "/files/..%2Fadmin"], // an encoded slash a service would decode: /admin
      ["GET", "/files/%252e%252e/admin"], // double encoding
      ["GET", "/files/..;/admin"], // Tomcat-style path parameters
      ["GET", "/files\\..\\admin"], // backslashes
      ["GET", "/%5Fstate"], // impgate's own API, encoded
      ["GET", "/_STATE"],
      ["GET", "//_state"],
    ];
    for (const [method, path] of attempts) {
      const res = await bearerFetch(token, `${imp.agentUrl}${path}`, { method });
      await expectOutsideScope(res, device);
      if (path.toLowerCase().includes("state")) expect(res.headers.get("www-authenticate")).toContain('scope="state:read"');
    }
    expect((await bearerFetch(token, `${imp.agentUrl}/hooks/%67ithub`, { method: "POST" })).status).toBe(200); // the same path, encoded
    expect((await bearerFetch(token, `${imp.agentUrl}/files/a/b`)).status).toBe(200);
    expect(device.requests.map((r) => r.path)).toEqual(["/hooks/github", "/files/a/b"]);
  });

  it("is not widened by a method override: headers, _method in the query or in a form body", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false, scope: ["POST /hooks/github"] });
    const token = await tokenFor(imp, caller, { dpop: false });
    const url = `${imp.agentUrl}/hooks/github`;
    const overrides: { url?: string; headers?: Record<string, string>; body?: string }[] = [
      { headers: { "x-http-method-override": "DELETE" } },
      { headers: { "X-HTTP-Method": "PUT" } },
      { headers: { "x-method-override": "delete" } },
      { url: `${url}?_method=DELETE` },
      { url: `${url}?%5Fmethod=DELETE` },
      { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1&_method=DELETE" },
      {
        headers: { "content-type": "multipart/form-data; boundary=b" },
        body: '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n',
      },
      { headers: { "content-type": "multipart/form-data; boundary=b" }, body: "not a multipart body" },
    ];
    for (const init of overrides) {
      const res = await bearerFetch(token, init.url ?? url, { method: "POST", headers: init.headers, body: init.body ?? "{}" });
      await expectOutsideScope(res, device);
    }
    // A scope that allows the overriding method too lets it through.
    const wide = await tokenFor(imp, await jwtCaller(imp, { dpop: false, scope: ["* /hooks/github"] }), { dpop: false });
    expect((await bearerFetch(wide, url, { method: "POST", headers: { "x-http-method-override": "DELETE" }, body: "{}" })).status).toBe(
      200,
    );
    expect(device.requests).toHaveLength(1);
  });

  it("holds for a credential without tokens, checked in the imp's object", async () => {
    const { imp, device } = await online();
    const created = await addCredential(imp, { kind: "webhook", format: "stripe", scope: ["POST /hooks/stripe"] });
    const send = async (path: string) => {
      const body = JSON.stringify({ path });
      const [name, value] = await signWebhook("stripe", created.secret ?? "", new TextEncoder().encode(body));
      return edgeFetch(`${imp.agentUrl}${path}`, { method: "POST", headers: { [name]: value }, body });
    };
    for (const path of ["/hooks/other", "/hooks/stripe/../admin", "/hooks/STRIPE", "/_messages?name=x", "/%5Fmessages"]) {
      await expectOutsideScope(await send(path), device);
    }
    expect((await send("/hooks/stripe")).status).toBe(200);
    expect(device.requests).toHaveLength(1);
    const refused = (await auditEvents(imp)).filter((e) => e.event === "scope_refused");
    expect(refused.map((e) => e.detail.path)).toEqual(expect.arrayContaining(["/hooks/other", "/hooks/admin", "/_messages"]));
  });

  it("grants the agent's APIs by name, each alone", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false, scope: ["events:read", "state:read"] });
    const token = await tokenFor(imp, caller, { dpop: false });
    expect((await bearerFetch(token, `${imp.agentUrl}/_events`)).status).toBe(200);
    expect((await bearerFetch(token, `${imp.agentUrl}/_state`)).status).toBe(200);
    for (const [method, path, scope] of [
      ["PUT", "/_state/door", "state:write"],
      ["DELETE", "/_state/door", "state:write"],
      ["POST", "/_messages?name=open", "messages:write"],
      ["GET", "/_messages/m1", "messages:read"],
      ["GET", "/hello", ""],
    ] as const) {
      const res = await bearerFetch(token, `${imp.agentUrl}${path}`, { method, body: method === "PUT" || method === "POST" ? "1" : null });
      if (scope) expect(res.headers.get("www-authenticate")).toContain(`scope="${scope}"`);
      await expectOutsideScope(res, device);
    }
  });

  it("narrowed by the admin stops tokens minted before, at once", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false });
    const token = await tokenFor(imp, caller, { dpop: false });
    expect((await bearerFetch(token, `${imp.agentUrl}/door`, { method: "POST" })).status).toBe(200);
    expect((await changeCredential(imp, caller.credId, { scope: ["GET /status"] })).status).toBe(200);
    device.requests.length = 0;
    await expectOutsideScope(await bearerFetch(token, `${imp.agentUrl}/door`, { method: "POST" }), device);
    expect((await bearerFetch(token, `${imp.agentUrl}/status`)).status).toBe(200);
    const changed = (await auditEvents(imp)).find((e) => e.event === "credential_changed");
    expect(changed?.detail).toMatchObject({ credId: caller.credId, scope: "GET /status" });
  });
});

describe("a token's scope", () => {
  it("is the credential's, or less when the caller asks for less, never more", async () => {
    const { imp, device } = await online();
    const caller = await jwtCaller(imp, { dpop: false, scope: ["* /hooks/**", "events:read"] });
    const res = await requestToken(imp, caller, { dpop: false, scope: ["GET /hooks/status"] });
    expect(res.status).toBe(200);
    const { access_token: narrow, scope } = await res.json<{ access_token: string; scope: string[] }>();
    expect(scope).toEqual(["GET /hooks/status"]);
    expect((await bearerFetch(narrow, `${imp.agentUrl}/hooks/status`)).status).toBe(200);
    device.requests.length = 0;
    // Refused in the worker: the credential would allow both.
    await expectOutsideScope(await bearerFetch(narrow, `${imp.agentUrl}/hooks/push`, { method: "POST" }), device);
    await expectOutsideScope(await bearerFetch(narrow, `${imp.agentUrl}/_events`), device);

    for (const asked of [["GET /other"], ["state:read"], ["* /**"]]) {
      const wider = await requestToken(imp, caller, { dpop: false, scope: asked });
      expect(wider.status).toBe(400);
      expect((await wider.json<{ error: { code: string } }>()).error.code).toBe("scope_too_wide");
    }
    for (const garbage of ["GET /x", [42], ["get /x"], []]) {
      const bad = await requestToken(imp, caller, { dpop: false, scope: garbage });
      expect(bad.status).toBe(400);
      expect((await bad.json<{ error: { code: string } }>()).error.code).toBe("bad_scope");
    }
    await eventually(
      "the worker's refusals audited",
      async () => (await auditEvents(imp)).filter((e) => e.event === "scope_refused" && e.detail.path === "/hooks/push").length > 0,
    );
  });
});
