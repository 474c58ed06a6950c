/**
 * The console as people use it, in a real browser: on a phone-sized screen, with the
 * keyboard alone, with a label on every control and readable contrast, with its scripts
 * running under its own strict Content-Security-Policy (no violation reported), and a chart of
 * a device's readings. With IMPGATE_SCREENSHOTS=1 it also writes the README's screenshots
 * (docs/console-fleet.png, docs/console-imp.png, docs/console-phone.png).
 */
import http from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { useChromium } from "../helpers/chromium.ts";
import { type Device, useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";

// The page's DOM, as the functions run in the browser below use it (this project's types have no DOM).
interface Element {
  tagName: string;
  id: string;
  type?: string;
  labels?: { length: number } | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number; height: number };
  closest(selector: string): Element | null;
  parentElement: Element | null;
}
declare const document: {
  querySelectorAll(selector: string): Iterable<Element>;
  querySelector(selector: string): Element | null;
  documentElement: { scrollWidth: number };
  activeElement: Element | null;
};
declare const window: { innerWidth: number; htmx?: unknown };
declare function getComputedStyle(el: Element): { color: string; backgroundColor: string };

const e2e = useSystem({ CONSOLE_HOST: "127.0.0.1", AGENT_HOST: "localhost" });
const browser = useChromium();
const SCREENSHOTS = Boolean(process.env.IMPGATE_SCREENSHOTS);

function publish(port: number, value: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/events/temperature",
      headers: { "content-type": "application/json" },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ c: value, at: new Date().toISOString() }));
  });
}

let demo: Device;

beforeAll(async () => {
  // A small fleet an operator might have: the demo device reporting temperatures, and others.
  demo = await e2e.device("demo", { args: ["--events-port", "0"] });
  const port = Number((await demo.daemon.waitFor((l) => l.msg === "events endpoint listening")).port);
  for (const [i, c] of [21.2, 21.4, 21.9, 22.3, 22.1, 21.8, 21.5, 21.6, 22.0, 22.4].entries()) {
    expect(await publish(port, c)).toBe(200);
    if (i === 0) await new Promise((r) => setTimeout(r, 50));
  }
  await e2e.cli("imp", "tag", demo.imp.impId, "home", "sensors");
  for (const [label, tags] of [
    ["garage-door", ["home", "doors"]],
    ["porch-light", ["home", "lights"]],
    ["greenhouse", ["sensors"]],
  ] as const) {
    const imp = await e2e.imp(label);
    await e2e.cli("imp", "tag", imp.impId, ...tags);
    if (label === "porch-light") await e2e.cli("imp", "disable", imp.impId, "--reason", "bulb firmware recall");
  }
  await e2e.device("kitchen", { caller: false });
  await eventually(async () => JSON.parse((await e2e.cli("imp", "list", "--json")).stdout).length >= 5, {
    timeout: 10_000,
    what: "the fleet listed",
  });
});

async function signedIn(viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.page(viewport ? { viewport } : {});
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(`${e2e.system.consoleOrigin}/console/sign-in`);
  await page.getByLabel("Admin secret").fill(e2e.system.secrets.ADMIN_SECRET);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${e2e.system.consoleOrigin}/console`);
  return { page, errors };
}

/** Controls a person cannot name: no label element, no aria-label. */
function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length > 0) && !el.getAttribute("aria-label"))
      .map((el) => `${el.tagName} ${el.id || el.getAttribute("name")}`),
  );
}

/** Text whose contrast with what is behind it is under WCAG AA (4.5:1). */
function lowContrast(page: Page, selectors: string[]): Promise<string[]> {
  return page.evaluate((selectors) => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r = 0, g = 0, b = 0]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c[3] ?? 0) > 0) return c;
      }
      return [255, 255, 255];
    };
    const bad: string[] = [];
    for (const selector of selectors) {
      for (const el of document.querySelectorAll(selector)) {
        const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) bad.push(`${selector}: ${ratio.toFixed(2)}`);
      }
    }
    return bad;
  }, selectors);
}

const READABLE = ["body", "a", "button", ".muted", ".badge.online", ".badge.offline", ".badge.disabled", "th", "td", ".notice", "label"];

describe("the console's pages", () => {
  it("run under their strict CSP without a violation, label every control, and keep contrast readable", async () => {
    const { page, errors } = await signedIn();
    expect(await page.evaluate(() => typeof window.htmx)).toBe("object");
    for (const path of [
      "/console",
      `/console/imps/${demo.imp.impId}`,
      "/console/sessions",
      `/console/imps/${demo.imp.impId}/confirm/disable`,
    ]) {
      await page.goto(`${e2e.system.consoleOrigin}${path}`);
      expect(await unlabelled(page), path).toEqual([]);
      expect(await lowContrast(page, READABLE), path).toEqual([]);
    }
    // Long enough for a live refresh (every 5 s) to have run too.
    await page.goto(`${e2e.system.consoleOrigin}/console/imps/${demo.imp.impId}`);
    await page.waitForResponse((r) => r.url().endsWith("/status"), { timeout: 10_000 });
    expect(errors).toEqual([]);
  });

  it("draws a chart of the device's numeric readings", async () => {
    const { page } = await signedIn();
    await page.goto(`${e2e.system.consoleOrigin}/console/imps/${demo.imp.impId}`);
    const chart = page.locator("svg.chart");
    expect(await chart.getAttribute("role")).toBe("img");
    expect(await chart.getAttribute("aria-label")).toMatch(/^temperature\.c: 10 readings from 21\.2 to 22\.4, latest 22\.4$/);
    if (SCREENSHOTS) await page.screenshot({ path: join(PROJECT_ROOT, "docs", "console-imp.png"), fullPage: true });
  });

  it("work with the keyboard alone: skip link first, then reveal and copy the agent URL", async () => {
    const { page } = await signedIn();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto(`${e2e.system.consoleOrigin}/console/imps/${demo.imp.impId}`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toBe("#main");
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      if (
        (await page.evaluate(() => document.activeElement?.tagName)) === "BUTTON" &&
        (await page.evaluate(() => document.activeElement?.closest("section")?.getAttribute("aria-labelledby"))) === "url-h"
      )
        break;
    }
    await page.keyboard.press("Enter");
    await page.waitForSelector("#agent-url");
    await page.locator("button[data-copy=agent-url]").focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#agent-url-status") !== null);
    await eventually(async () => (await page.locator("#agent-url-status").textContent()) === "Copied.", { timeout: 5_000, what: "copied" });
    expect(await page.evaluate(() => (navigator as unknown as { clipboard: { readText(): Promise<string> } }).clipboard.readText())).toBe(
      demo.imp.agentUrl,
    );
  });

  it("fit a phone-sized screen without sideways scrolling", async () => {
    const { page } = await signedIn({ width: 390, height: 844 });
    for (const path of ["/console", `/console/imps/${demo.imp.impId}`, "/console/sessions"]) {
      await page.goto(`${e2e.system.consoleOrigin}${path}`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), path).toBe(true);
    }
    await page.goto(`${e2e.system.consoleOrigin}/console`);
    if (SCREENSHOTS) await page.screenshot({ path: join(PROJECT_ROOT, "docs", "console-phone.png") });
  });

  it("show the fleet with its filters", async () => {
    const { page } = await signedIn();
    await page.getByLabel("Tag").fill("home");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = await page.locator("#fleet tbody td:first-child > a").allTextContents();
    expect(rows).toEqual(["demo", "garage-door", "porch-light"]);
    await page.goto(`${e2e.system.consoleOrigin}/console`);
    if (SCREENSHOTS) await page.screenshot({ path: join(PROJECT_ROOT, "docs", "console-fleet.png"), fullPage: true });
  });
});
