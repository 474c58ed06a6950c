// Ties `import { env, exports } from "cloudflare:workers"` to this worker's own types.
import type { Env as WorkerEnv } from "./env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import("./index.ts");
      durableNamespaces: "ImpSession" | "EdgeAudit";
    }
  }
}
