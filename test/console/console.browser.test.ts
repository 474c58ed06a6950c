/**
 * The web console in a real browser (headless Chromium, playwright-core) against the real
 * local edge (the console on 127.0.0.1, agent URLs on localhost, as `npm start` runs them)
 * with real daemons: signing in, live status, the kill switch, URL rotation and agent code
 * from the page, and the refusals: a wrong secret, a cross-site form post made by a hostile
 * device's page, and the same page framing the console (clickjacking).
 */
import { readFile } from "node:fs/promises";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useChromium } from "../helpers/chromium.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import { callerAuth } from "../helpers/system.ts";

// The page's DOM, as the functions run in the browser below use it (this project's types have no DOM).
interface Element {
  textContent: string | null;
  querySelector(selector: string): Element | null;
}
declare const document: { querySelectorAll(selector: string): Iterable<Element> };
declare const window: object;

const e2e = useSystem({ CONSOLE_HOST: "127.0.0.1", AGENT_HOST: "localhost" });
const browser = useChromium();

async function signIn(page: Page, secret = e2e.system.secrets.ADMIN_SECRET): Promise<void> {
  await page.goto(`${e2e.system.consoleOrigin}/console`);
  // Signed out: the console sends the browser to its sign-in page.
  expect(new URL(page.url()).pathname).toBe("/console/sign-in");
  await page.getByLabel("Admin secret").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function impPage(page: Page, impId: string): Promise<void> {
  await page.goto(`${e2e.system.consoleOrigin}/console/imps/${impId}`);
}

/** The badge the fleet table shows for the imp labelled `label`. */
function fleetBadge(page: Page, label: string): Promise<string | null> {
  return page.evaluate((label) => {
    const row = [...document.querySelectorAll("#fleet tbody tr")].find((tr) => tr.querySelector("a")?.textContent === label);
    return row?.querySelector(".badge")?.textContent ?? null;
  }, label);
}

describe("the console in a browser", () => {
  it("refuses a wrong admin secret", async () => {
    const page = await browser.page();
    await signIn(page, "not-the-secret");
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    expect(await page.getByRole("alert").textContent()).toContain("That is not the admin secret");
    expect((await page.context().cookies()).filter((c) => c.name.includes("impgate"))).toEqual([]);
  });

  it("signs in, shows the demo imp online, and shows it offline within 20 s of its daemon stopping, without a reload", async () => {
    const { daemon } = await e2e.device("demo");
    const page = await browser.page();
    await signIn(page);
    expect(new URL(page.url()).pathname).toBe("/console");
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === "__Host-impgate-console");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/", domain: "127.0.0.1" });

    await page.goto(`${e2e.system.consoleOrigin}/console?q=demo`);
    await eventually(
      async () => {
        if ((await fleetBadge(page, "demo")) === "online") return true;
        await page.reload();
        return false;
      },
      { timeout: 15_000, what: "the demo imp online" },
    );
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await daemon.stop();
    await page.waitForFunction(
      () => [...document.querySelectorAll("#fleet tbody tr .badge")].some((b) => b.textContent?.startsWith("offline")),
      undefined,
      { timeout: 20_000 },
    );
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it("shows each request to an imp in its page's live request log as it happens, with nothing secret in it", async () => {
    const { imp } = await e2e.device("logged");
    const page = await browser.page();
    await signIn(page);
    await impPage(page, imp.impId);
    await page.getByText("Live: each request").waitFor();
    expect((await e2e.call(imp, "/door/open?code=12345")).status).toBe(200);
    const row = page.locator("[data-tail] tbody tr", { hasText: "/door/open?…" });
    await row.waitFor({ timeout: 15_000 });
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("GET");
    expect(text).toContain("200");
    expect(text).not.toContain("12345");
    expect(await page.content()).not.toContain(new URL(imp.agentUrl).pathname);
  });

  it("disables an imp from its page, and then a caller gets 423", async () => {
    const { imp, service } = await e2e.device("kill-me");
    const page = await browser.page();
    await signIn(page);
    await impPage(page, imp.impId);
    await page.getByRole("link", { name: "Disable…" }).click();
    await page.getByLabel("Reason (for the audit log)").fill("pulled from the page");
    await page.getByRole("button", { name: "Disable", exact: true }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("Disabled");

    const res = await e2e.call(imp, "/door", { method: "POST" });
    expect(res.status).toBe(423);
    expect(service.received).toHaveLength(0);
    const shown = await e2e.cli("imp", "show", imp.impId);
    expect(shown.stdout).toMatch(/DISABLED: .* by console:admin: pulled from the page/);
  });

  it("rotates an imp's URL from its page: the new one is shown once, the old one answers 404", async () => {
    const { imp } = await e2e.device("rotate-me");
    const page = await browser.page();
    await signIn(page);
    await impPage(page, imp.impId);
    expect(await page.content()).not.toContain(new URL(imp.agentUrl).pathname);
    await page.getByRole("link", { name: "Rotate URL…" }).click();
    await page.getByRole("button", { name: "Rotate the URL" }).click();
    const newUrl = await page.locator("#agent-url").inputValue();
    expect(newUrl).toMatch(/^https:\/\/localhost:\d+\/agent\/agt_/);
    expect(newUrl).not.toBe(imp.agentUrl);
    // The URL the page is at holds no agent id: the answer to a POST showed it.
    expect(page.url()).not.toContain("agt_");

    expect((await e2e.request(`${imp.agentUrl}/x`)).status).toBe(404);
    const moved = { ...imp, agentUrl: newUrl };
    expect((await e2e.request(`${newUrl}/x`, { headers: await callerAuth(e2e.system, moved) })).status).toBe(200);
  });

  it("deploys the garage-door example from the page, and a caller opens the door", async () => {
    const { imp, service } = await e2e.device("garage", {
      service: (req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ seen: req.url }));
      },
    });
    const page = await browser.page();
    await signIn(page);
    await impPage(page, imp.impId);
    await page.getByText("Deploy agent code").click();
    const code = await readFile(new URL("../../agent/examples/garage-door.js", import.meta.url), "utf8");
    await page.getByLabel(/^Agent module/).fill(code);
    await page.getByLabel("Note").fill("from the console");
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("Agent code deployed");
    expect(await page.getByText("Version 1 is active.").count()).toBe(1);

    const status = await e2e.call(imp, "/status");
    expect(JSON.parse(status.body.toString())).toEqual({ door: "unknown", lastOpened: null });
    const open = await e2e.call(imp, "/open", { method: "POST" });
    expect(open.status).toBe(200);
    expect(JSON.parse(open.body.toString())).toEqual({ door: "opening" });
    expect(service.received.map((r) => `${r.method} ${r.url}`)).toEqual(["POST /door"]);
  });

  it("refuses a cross-site form post from a hostile device's page, and changes nothing", async () => {
    const target = await e2e.device("target");
    const consoleOrigin = e2e.system.consoleOrigin;
    // A public imp whose device serves a page that posts the console's disable form.
    const hostile = await e2e.device("hostile", {
      caller: false,
      service: (_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`<!doctype html><form method="post" action="${consoleOrigin}/console/imps/${target.imp.impId}/disable">
          <input name="reason" value="pwned"><input name="_csrf" value="guessed"></form>
          <script>document.forms[0].submit()</script>`);
      },
    });
    expect((await e2e.cli("imp", "set", hostile.imp.impId, "--public")).code).toBe(0);

    const page = await browser.page();
    await signIn(page);
    await impPage(page, target.imp.impId);
    // The operator, signed in, opens a link to the device's page…
    const navigated = page.waitForURL(`${consoleOrigin}/console/imps/${target.imp.impId}/disable`, { timeout: 15_000 });
    await page.goto(`${hostile.imp.agentUrl}/offer`);
    await navigated;
    // …which posts to the console: refused (its session cookie stays home), nothing changed.
    expect(await page.getByRole("alert").textContent()).toMatch(/session has ended|did not come from a page of this console/);
    const shown = await e2e.cli("imp", "show", target.imp.impId, "--json");
    expect(JSON.parse(shown.stdout).disabled).toBeNull();
    // The operator's own session still works.
    await impPage(page, target.imp.impId);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("target");
  });

  it("cannot be framed by a hostile device's page (clickjacking): the frame shows nothing of the console", async () => {
    const target = await e2e.device("framed");
    const consoleOrigin = e2e.system.consoleOrigin;
    // A device page that lays the console under a decoy, as a clickjacker would.
    const hostile = await e2e.device("framer", {
      caller: false,
      service: (_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`<!doctype html><p>Win a prize: click below</p>
          <iframe src="${consoleOrigin}/console/imps/${target.imp.impId}/confirm/delete" width="900" height="600"></iframe>
          <iframe src="${consoleOrigin}/console/sign-in" width="900" height="600"></iframe>
          <script>let n = 0; for (const f of document.querySelectorAll("iframe")) f.onload = () => { if (++n === 2) window.framesLoaded = true; };</script>`);
      },
    });
    expect((await e2e.cli("imp", "set", hostile.imp.impId, "--public")).code).toBe(0);

    const page = await browser.page();
    await signIn(page);
    await page.goto(`${hostile.imp.agentUrl}/prize`);
    await page.waitForFunction(() => (window as { framesLoaded?: boolean }).framesLoaded === true, undefined, { timeout: 15_000 });
    const framed = page.frames().filter((f) => f !== page.mainFrame());
    expect(framed).toHaveLength(2);
    for (const frame of framed) {
      // The browser refused to render the console in the frame: whatever is there is not the console.
      const text = await frame
        .evaluate(() => [...document.querySelectorAll("body")].map((b) => b.textContent ?? "").join(""))
        .catch(() => "");
      expect(text).not.toMatch(/impgate|Delete|Sign in|admin secret/i);
      expect(
        await frame
          .locator("form")
          .count()
          .catch(() => 0),
      ).toBe(0);
    }
    // Nothing was deleted.
    expect((await e2e.cli("imp", "show", target.imp.impId)).code).toBe(0);
  });
});
