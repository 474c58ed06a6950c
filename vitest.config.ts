/**
 * Three projects: `worker` runs the edge's tests inside the Workers runtime (workerd, via
 * @cloudflare/vitest-plugin); `node` runs the daemon, CLI and end-to-end tests as real
 * processes over real TLS; `browser` runs the tests that drive headless Chromium
 * (`*.browser.test.ts`), when there is one (see test/helpers/browser.ts).
 *
 * Speed on a 2-core machine: test files run three at a time (end-to-end files mostly wait on
 * their processes; each starts its own edge on its own random port with its own state, so
 * they share nothing), workers are reused across files (`isolate: false`: no test here
 * changes globals, and each uses its own imps and Durable Objects), and the slowest files
 * start first (test/helpers/sequencer.ts). Quiet when green: test/helpers/quiet-output.ts.
 */

import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { makeEdgeSecrets } from "./dev/secrets.ts";
import { findChromium, HOW_TO_ENABLE, isCI } from "./test/helpers/browser.ts";
import { holdRuntimeOutput, QuietReporter } from "./test/helpers/quiet-output.ts";
import { SlowFirstSequencer } from "./test/helpers/sequencer.ts";
import { testNetwork } from "./test/helpers/test-network.ts";

const secrets = await makeEdgeSecrets();
// The fleet registry's tables, applied once to the worker project's D1 by test/worker/setup.ts.
const migrations = await readD1Migrations("./migrations");
holdRuntimeOutput();

const BROWSER_TESTS = "test/**/*.browser.test.ts";
// Under CI, or when CHROMIUM_PATH names one, a missing browser is a failure (the browser
// project runs and says why), not a skip.
const chromium = findChromium();
const runBrowserTests = chromium.path !== undefined || isCI() || Boolean(process.env.CHROMIUM_PATH);
const browserSkipped = runBrowserTests ? undefined : `browser tests skipped: ${chromium.reason}; to run them, ${HOW_TO_ENABLE}`;

/** One group of files at a time in the pool: every project must agree on it (Vitest's rule). */
const maxWorkers = 3;

export default defineConfig({
  test: {
    reporters: ["default", new QuietReporter(browserSkipped)],
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // nodejs_compat only for the test harness (vitest's own imports), not the deployed worker.
            miniflare: {
              compatibilityFlags: ["nodejs_compat"],
              bindings: { ...secrets, ADMIN_SECRET: "test-admin-secret", REQUEST_TIMEOUT_MS: "5000", TEST_MIGRATIONS: migrations },
              // The worker's outbound fetches (the agent OutboundGate's) go to a network the tests control.
              outboundService: testNetwork,
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["./test/worker/setup.ts"],
          testTimeout: 20_000,
          isolate: false,
          maxWorkers,
        },
      },
      {
        test: {
          name: "node",
          include: [
            "test/e2e/**/*.test.ts",
            "test/device/**/*.test.ts",
            "test/protocol/**/*.test.ts",
            "test/cli/**/*.test.ts",
            "test/bench/**/*.test.ts",
            "test/console/**/*.test.ts",
          ],
          exclude: [BROWSER_TESTS],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          isolate: false,
          maxWorkers,
        },
      },
      ...(runBrowserTests
        ? [
            {
              test: {
                name: "browser",
                include: [BROWSER_TESTS],
                environment: "node",
                testTimeout: 60_000,
                hookTimeout: 60_000,
                isolate: false,
                maxWorkers,
              },
            },
          ]
        : []),
    ],
  },
});
