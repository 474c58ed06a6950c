/**
 * Signing in to the console and what protects a session, tried as an outsider would: the
 * admin secret once for an HttpOnly, Secure, SameSite=Strict, host-only cookie; wrong secrets
 * refused, throttled and audited; every state change refused without the page's CSRF token or
 * from another origin (and nothing changed); sessions ended server-side; tokens rotated; the
 * console's headers; Cloudflare Access instead of the secret.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { ImpView } from "../../protocol/admin-api.ts";
import { ACCESS_TEST_AUD, ACCESS_TEST_PRIVATE_JWK, ACCESS_TEST_TEAM } from "../helpers/access-keys.ts";
import { browser, csrfOf, sessionCookie, signIn } from "./console-session.ts";
import { CONSOLE, consoleAdmin, separatedFetch } from "./separate-origins.ts";

function signInWith(secret: string, client: string, origin = CONSOLE): Promise<Response> {
  return separatedFetch(`${CONSOLE}/console/sign-in`, {
    method: "POST",
    headers: { origin, "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": client },
    body: new URLSearchParams({ secret }),
  });
}

async function edgeAudit(): Promise<{ event: string; client: string; detail: Record<string, unknown> }[]> {
  return (
    await (
      await consoleAdmin("/audit?limit=1000")
    ).json<{ entries: { event: string; client: string; detail: Record<string, unknown> }[] }>()
  ).entries;
}

async function newImp(label: string): Promise<string> {
  const { exportJWK, generateKeyPair } = await import("jose");
  const { publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const res = await consoleAdmin("/imps", { method: "POST", body: JSON.stringify({ label, devicePublicJwk: await exportJWK(publicKey) }) });
  return (await res.json<{ impId: string }>()).impId;
}

async function isDisabled(impId: string): Promise<boolean> {
  return (await (await consoleAdmin(`/imps/${impId}`)).json<ImpView>()).disabled !== null;
}

describe("console sign-in", () => {
  it("exchanges the admin secret for a short-lived, host-only, HttpOnly, Secure, SameSite=Strict session cookie", async () => {
    const res = await signInWith(env.ADMIN_SECRET ?? "", "198.51.100.7");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console");
    const set = res.headers.getSetCookie().find((c) => c.startsWith("__Host-impgate-console="));
    expect(set).toMatch(/; Path=\/(;|$)/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).not.toMatch(/Domain=/i);
    const page = await browser(sessionCookie(res) ?? "", "198.51.100.7").get("/console");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Signed in as admin");
    expect((await edgeAudit()).some((e) => e.event === "console_signed_in" && e.client === "198.51.100.7")).toBe(true);
  });

  it("refuses a wrong secret, audits it without the secret, and throttles the client after 5 failures", async () => {
    const client = "198.51.100.66";
    for (let i = 0; i < 5; i++) {
      const res = await signInWith(`wrong-${i}-guess`, client);
      expect(res.status).toBe(401);
      expect(sessionCookie(res)).toBeUndefined();
    }
    const throttled = await signInWith(env.ADMIN_SECRET ?? "", client);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(sessionCookie(throttled)).toBeUndefined();
    const failures = (await edgeAudit()).filter((e) => e.event === "admin_auth_failed" && e.client === client);
    expect(failures).toHaveLength(5);
    expect(JSON.stringify(failures)).not.toContain("wrong-");
    expect(failures[0]?.detail).toMatchObject({ path: "/console/sign-in" });
  });

  it("refuses a sign-in form posted from another site", async () => {
    const res = await signInWith(env.ADMIN_SECRET ?? "", "198.51.100.8", "https://evil.example");
    expect(res.status).toBe(403);
    expect(sessionCookie(res)).toBeUndefined();
  });

  it("sends a signed-out browser to the sign-in page, and a forged cookie nowhere", async () => {
    for (const cookie of ["", "__Host-impgate-console=forged"]) {
      const res = await separatedFetch(`${CONSOLE}/console`, { headers: { cookie } });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/console/sign-in");
    }
  });
});

describe("console state changes", () => {
  it("refuse a cross-site form post, a missing or wrong CSRF token, and change nothing", async () => {
    const b = await signIn();
    const impId = await newImp("csrf-target");
    const csrf = await b.csrf();
    const attempts: [string, Promise<Response>][] = [
      ["from another origin", b.post(`/console/imps/${impId}/disable`, { _csrf: csrf }, { origin: "https://evil.example" })],
      ["with no origin", b.post(`/console/imps/${impId}/disable`, { _csrf: csrf }, { origin: "", "sec-fetch-site": "cross-site" })],
      // A sandboxed frame or a data: page posts with Origin: null; only the browser's Sec-Fetch-Site then says where from.
      [
        "from an opaque origin",
        b.post(`/console/imps/${impId}/disable`, { _csrf: csrf }, { origin: "null", "sec-fetch-site": "cross-site" }),
      ],
      ["without the token", b.post(`/console/imps/${impId}/disable`, { _csrf: "" })],
      ["with another token", b.post(`/console/imps/${impId}/disable`, { _csrf: `${csrf.slice(0, -2)}xx` })],
      // What a cross-site form actually sends: SameSite=Strict keeps the cookie home.
      [
        "a real cross-site form",
        separatedFetch(`${CONSOLE}/console/imps/${impId}/disable`, {
          method: "POST",
          headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
          body: "reason=pwned",
        }),
      ],
    ];
    for (const [what, res] of attempts) {
      expect((await res).status, what).toBeGreaterThanOrEqual(401);
      expect((await res).status, what).toBeLessThanOrEqual(403);
    }
    expect(await isDisabled(impId)).toBe(false);
    // The same form with the page's token, from the page: done.
    const done = await b.post(`/console/imps/${impId}/disable`, { _csrf: csrf, reason: "from the console" });
    expect(done.status).toBe(303);
    expect(await isDisabled(impId)).toBe(true);
    const view = await (await consoleAdmin(`/imps/${impId}`)).json<ImpView>();
    expect(view.disabled).toMatchObject({ by: "console:admin", reason: "from the console" });
  });

  it("end when the session is revoked server-side, signed out, or ended from the sessions page", async () => {
    const a = await signIn();
    const other = await signIn();
    // Ending another session from the sessions page.
    const sessions = await (await a.get("/console/sessions")).text();
    expect(sessions).toContain("(this one)");
    const ids = [...sessions.matchAll(/name="id" value="([^"]+)"/g)].map((m) => m[1]).filter((id) => id !== "all");
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const otherId = await sha256(other.cookie.split("=")[1] ?? "");
    expect((await a.post("/console/sessions/revoke", { id: otherId })).status).toBe(303);
    expect((await other.get("/console")).status).toBe(303);
    expect((await a.get("/console")).status).toBe(200);
    // Signing out ends this one.
    expect((await a.post("/console/sign-out", {})).status).toBe(303);
    expect((await a.get("/console")).status).toBe(303);
  });

  it("rotate the session's token: the new one works, the old one only for a minute", async () => {
    const b = await signIn();
    const id = await sha256(b.cookie.split("=")[1] ?? "");
    // Ten minutes of use later (the clock moved by editing the row).
    await env.REGISTRY.prepare("UPDATE console_sessions SET rotated_at = rotated_at - 600000 WHERE id = ?").bind(id).run();
    const res = await b.get("/console");
    expect(res.status).toBe(200);
    const next = sessionCookie(res);
    expect(next).toBeDefined();
    expect(next).not.toBe(b.cookie);
    const old = await env.REGISTRY.prepare("SELECT expires_at FROM console_sessions WHERE id = ?").bind(id).first<{ expires_at: number }>();
    expect(old?.expires_at).toBeLessThanOrEqual(Date.now() + 60_000);
    expect((await browser(next ?? "", b.client).get("/console")).status).toBe(200);
  });
});

describe("console pages", () => {
  it("carry a strict CSP, no framing, no Referer and no caching, and never show an agent id until revealed", async () => {
    const b = await signIn();
    const impId = await newImp("headers");
    const view = await (await consoleAdmin(`/imps/${impId}`)).json<ImpView>();
    for (const path of ["/console", `/console/imps/${impId}`, "/console/sessions", "/console/sign-in"]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("style-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain("unsafe-inline");
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      const html = await res.text();
      expect(html, path).not.toMatch(/<script>|<script [^>]*>[^<]|style="| on[a-z]+="/);
      expect(html, path).not.toContain(view.agentId);
    }
    const revealed = await b.post(`/console/imps/${impId}/reveal`, {});
    expect(revealed.status).toBe(200);
    expect(await revealed.text()).toContain(view.agentUrl);
  });

  it("serve their scripts and styles as hashed, immutable files", async () => {
    const b = await signIn();
    const html = await (await b.get("/console")).text();
    const files = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");
    expect(files.map((f) => f.replace(/\.[A-Za-z0-9_-]{12}\./, ".#."))).toEqual([
      "/console/assets/icon.#.svg",
      "/console/assets/console.#.css",
      "/console/assets/htmx.#.js",
      "/console/assets/console.#.js",
    ]);
    for (const file of files) {
      const res = await separatedFetch(`${CONSOLE}${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("cache-control"), file).toContain("immutable");
    }
    expect((await separatedFetch(`${CONSOLE}/console/assets/htmx.js`)).status).toBe(404);
  });
});

describe("console behind Cloudflare Access", () => {
  const access = { ACCESS_TEAM_DOMAIN: ACCESS_TEST_TEAM, ACCESS_AUD: ACCESS_TEST_AUD };

  async function assertion(claims: { aud?: string; iss?: string; email?: string; exp?: number } = {}): Promise<string> {
    const { importJWK } = await import("jose");
    const key = await importJWK(ACCESS_TEST_PRIVATE_JWK, "RS256");
    return new SignJWT({ email: claims.email ?? "alice@example.com" })
      .setProtectedHeader({ alg: "RS256", kid: ACCESS_TEST_PRIVATE_JWK.kid })
      .setIssuer(claims.iss ?? `https://${ACCESS_TEST_TEAM}`)
      .setAudience(claims.aud ?? ACCESS_TEST_AUD)
      .setSubject("alice-sub")
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(key);
  }

  function get(path: string, jwt?: string, cookie = ""): Promise<Response> {
    return separatedFetch(`${CONSOLE}${path}`, { headers: { cookie, ...(jwt ? { "cf-access-jwt-assertion": jwt } : {}) } }, access);
  }

  it("accepts a valid assertion from the team's keys for the application's audience, as the operator it names", async () => {
    const res = await get("/console", await assertion());
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Signed in as access:alice@example.com");
    // A state change still needs the page's CSRF token, under the session Access began.
    const cookie = sessionCookie(res) ?? "";
    const page = await get("/console/sessions", await assertion(), cookie);
    expect(csrfOf(await page.text())).toBeTruthy();
  });

  it("refuses no assertion, another audience, another issuer, an expired one and a forged signature; the secret sign-in is off", async () => {
    const good = await assertion();
    const forged = `${good.slice(0, good.lastIndexOf(".") + 1)}${"A".repeat(342)}`;
    for (const [what, jwt] of [
      ["none", undefined],
      ["another audience", await assertion({ aud: "another-app" })],
      ["another issuer", await assertion({ iss: "https://evil.cloudflareaccess.com" })],
      ["expired", await assertion({ exp: Math.floor(Date.now() / 1000) - 60 })],
      ["forged", forged],
    ] as const) {
      expect((await get("/console", jwt)).status, what).toBe(403);
    }
    // Even the admin secret does not sign in: Access decides who gets in.
    const res = await separatedFetch(
      `${CONSOLE}/console/sign-in`,
      {
        method: "POST",
        headers: { origin: CONSOLE, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ secret: env.ADMIN_SECRET ?? "" }),
      },
      access,
    );
    expect(res.status).toBe(404);
    expect(sessionCookie(res)).toBeUndefined();
  });
});

async function sha256(text: string): Promise<string> {
  const { base64url } = await import("jose");
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}
