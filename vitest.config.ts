/**
 * Two projects: `worker` runs the edge's tests inside the Workers runtime (workerd, via
 * @cloudflare/vitest-plugin); `node` runs the daemon and end-to-end tests as real
 * processes over real TLS.
 */

import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { makeEdgeSecrets } from "./dev/secrets.ts";
import { testNetwork } from "./test/helpers/test-network.ts";

const secrets = await makeEdgeSecrets();

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // nodejs_compat only for the test harness (vitest's own imports), not the deployed worker.
            miniflare: {
              compatibilityFlags: ["nodejs_compat"],
              bindings: { ...secrets, ADMIN_SECRET: "test-admin-secret", REQUEST_TIMEOUT_MS: "5000" },
              // The worker's outbound fetches (the agent OutboundGate's) go to a network the tests control.
              outboundService: testNetwork,
            },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], testTimeout: 20_000 },
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
          ],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
