/** The fleet registry's D1 migrations, applied once (see ./setup.ts). */
import { applyD1Migrations, env } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** migrations/, read by vitest.config.ts. */
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    }
  }
}

export const migrated = applyD1Migrations(env.REGISTRY, env.TEST_MIGRATIONS);
