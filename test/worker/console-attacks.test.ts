/**
 * The console attacked from outside, beyond its forms' CSRF (./console-auth.test.ts):
 *
 *   session fixation   a session token the attacker chose (or one of the attacker's own
 *                      sessions) planted in the operator's browser before sign-in is never
 *                      adopted: signing in makes a new token, and the planted one signs no one in
 *   a hostile device   what a device says about itself and sends (its daemon's name, event
 *                      data, the fields of a reading, what agent code logs of it) is shown in
 *                      the console as text, never as markup
 */
import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ACCESS_TEST_AUD, ACCESS_TEST_PRIVATE_JWK, ACCESS_TEST_TEAM } from "../helpers/access-keys.ts";
import { browser, sessionCookie, signIn } from "./console-session.ts";
import { createImp, deployAgent, eventually, TestDevice } from "./helpers.ts";
import { CONSOLE, separatedFetch } from "./separate-origins.ts";

const COOKIE = "__Host-impgate-console";

/** The sign-in form posted by a browser that already holds `cookie`. */
function signInHolding(cookie: string, client: string): Promise<Response> {
  return separatedFetch(`${CONSOLE}/console/sign-in`, {
    method: "POST",
    headers: { origin: CONSOLE, cookie, "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": client },
    body: new URLSearchParams({ secret: env.ADMIN_SECRET ?? "" }),
  });
}

async function accessAssertion(email: string): Promise<string> {
  return new SignJWT({ email })
    .setProtectedHeader({ alg: "RS256", kid: ACCESS_TEST_PRIVATE_JWK.kid })
    .setIssuer(`https://${ACCESS_TEST_TEAM}`)
    .setAudience(ACCESS_TEST_AUD)
    .setSubject(email)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(await importJWK(ACCESS_TEST_PRIVATE_JWK, "RS256"));
}

describe("console session fixation", () => {
  it("never adopts a session token planted in the browser before sign-in", async () => {
    const client = "198.51.100.90";
    const planted = `${COOKIE}=${"A".repeat(43)}`;
    // The planted token is no session: the browser is signed out with it.
    expect((await browser(planted, client).get("/console")).status).toBe(303);
    const res = await signInHolding(planted, client);
    expect(res.status).toBe(303);
    const issued = sessionCookie(res);
    expect(issued).toBeDefined();
    expect(issued).not.toBe(planted);
    // The attacker, who knows only the planted token, is still signed out; the operator is in.
    expect((await browser(planted, "203.0.113.66").get("/console")).status).toBe(303);
    expect((await browser(issued ?? "", client).get("/console")).status).toBe(200);
  });

  it("ends the attacker's own session planted in the operator's browser, rather than sign the operator in under it", async () => {
    const attacker = await signIn("203.0.113.67");
    const res = await signInHolding(attacker.cookie, "198.51.100.91");
    expect(res.status).toBe(303);
    const issued = sessionCookie(res);
    expect(issued).toBeDefined();
    expect(issued).not.toBe(attacker.cookie);
    // Whatever the operator does next happens under a session the attacker does not hold.
    expect((await attacker.get("/console")).status).toBe(303);
  });

  it("behind Cloudflare Access: a session of another operator in the browser is replaced by one of the operator Access names", async () => {
    const access = { ACCESS_TEAM_DOMAIN: ACCESS_TEST_TEAM, ACCESS_AUD: ACCESS_TEST_AUD };
    const get = async (cookie: string, email: string) =>
      separatedFetch(`${CONSOLE}/console`, { headers: { cookie, "cf-access-jwt-assertion": await accessAssertion(email) } }, access);
    const mallory = await get("", "mallory@example.com");
    const malloryCookie = sessionCookie(mallory) ?? "";
    expect(await mallory.text()).toContain("Signed in as access:mallory@example.com");
    // Mallory's session cookie in Alice's browser; Alice's own assertion comes with it.
    const alice = await get(malloryCookie, "alice@example.com");
    expect(await alice.text()).toContain("Signed in as access:alice@example.com");
    const aliceCookie = sessionCookie(alice);
    expect(aliceCookie).toBeDefined();
    expect(aliceCookie).not.toBe(malloryCookie);
    // Mallory's token never became Alice's: with Mallory's assertion it is a fresh session of Mallory's.
    const again = await get(malloryCookie, "mallory@example.com");
    expect(await again.text()).toContain("Signed in as access:mallory@example.com");
  });
});

// What a compromised device (or agent code echoing it) might send, to be shown as text.
const MARKUP = `<img src=x onerror=alert(1)><script>alert(2)</script>`;
const ESCAPED = "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;";

/** Whether `html` holds markup the device sent (a tag, not the escaped text of one). */
function deviceMarkupIn(html: string): string[] {
  return [/<img src=x/i, /<script>alert/i, /<svg onload/i, /onerror=alert\(1\)>/].filter((re) => re.test(html)).map(String);
}

describe("a hostile device's strings in the console", () => {
  it("are shown as text on the fleet and imp pages and in the live status, never as markup", async () => {
    const imp = await createImp("hostile-strings");
    await deployAgent(imp, 'export default { onDeviceEvent(event) { console.log("agent saw " + JSON.stringify(event.data)); } };');
    const device = await TestDevice.open(imp.impId);
    try {
      await device.handshake(imp, { agent: MARKUP });
      expect((await device.event("note", MARKUP)).msg.t).toBe("ack");
      // A reading whose field the chart names, twice (a chart needs two).
      for (const c of [1, 2]) expect((await device.event("reading", { "<svg onload=alert(3)>": c })).msg.t).toBe("ack");
      const b = await signIn();
      const pages = {
        fleet: await (await b.get(`/console?q=hostile-strings`)).text(),
        imp: await eventually("the agent's log line on the page", async () => {
          const html = await (await b.get(`/console/imps/${imp.impId}?chart=reading`)).text();
          return html.includes("agent saw ") ? html : null;
        }),
        status: await (await b.get(`/console/imps/${imp.impId}/status`)).text(),
      };
      for (const [page, html] of Object.entries(pages)) expect(deviceMarkupIn(html), page).toEqual([]);
      // The imp page shows each as the text the device sent: its daemon's name, the event, the chart's field.
      expect(pages.imp).toContain(ESCAPED);
      expect(pages.imp).toContain("reading.&lt;svg onload=alert(3)&gt;");
      expect(pages.imp).toContain(`agent saw &quot;${ESCAPED}&quot;`);
      expect(pages.fleet).toContain("hostile-strings");
      expect(pages.status).toContain(ESCAPED);
    } finally {
      device.close();
    }
  });
});
