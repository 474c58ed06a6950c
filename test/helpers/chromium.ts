/**
 * Headless Chromium for the browser tests, driven by playwright-core (the browser is the
 * system's: ./browser.ts finds it). One browser per test file; each test gets a context of its
 * own (its own cookie jar), closed when the test ends.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { findChromium, HOW_TO_ENABLE } from "./browser.ts";

export interface Chromium {
  /** A fresh browser context (its own cookies) and a page in it. */
  page(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
}

export function useChromium(): Chromium {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    const found = findChromium();
    // This project runs only when a browser was found, or under CI / CHROMIUM_PATH: then its absence is a failure.
    if (found.path === undefined) throw new Error(`no browser for the browser tests: ${found.reason}; ${HOW_TO_ENABLE}`);
    browser = await chromium.launch({
      executablePath: found.path,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu"],
      timeout: 30_000,
    });
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async page(options = {}) {
      if (!browser) throw new Error("the browser starts in beforeAll");
      // The edge's certificate is from the test's own development CA, which this browser does not know.
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: options.viewport ?? { width: 1280, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return page;
    },
  };
}
