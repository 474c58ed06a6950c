/**
 * The worker's bindings: the edge's own (edge/env.ts) and the Durable Object namespaces,
 * which only the worker addresses by name (kept in step with wrangler.toml by hand).
 */

import type { EdgeAudit } from "../durable-objects/edge-audit.ts";
import type { ImpSession } from "../durable-objects/imp-session.ts";
import type { AgentCall } from "../edge/agent-call.ts";
import type { EdgeEnv } from "../edge/env.ts";

export interface Env extends EdgeEnv {
  IMP: DurableObjectNamespace<ImpSession>;
  /** The edge's own security events (failed admin authentication): one object, `GET /admin/audit`. */
  EDGE_AUDIT: DurableObjectNamespace<EdgeAudit>;
  /** The host of the console and the admin API (worker/origins.ts); empty: one origin, no console. */
  CONSOLE_HOST?: string;
  /** The host of agent URLs and device links, when CONSOLE_HOST is set. */
  AGENT_HOST?: string;
  /** Cloudflare Access in front of the console: the team domain and the application's audience (worker/console/access.ts). */
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
}

export type AppEnv = { Bindings: Env };

// Types `ctx.exports`: the worker's own entrypoints (AgentApi, OutboundGate) as loopback bindings.
declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import("./index.ts");
      durableNamespaces: "ImpSession" | "EdgeAudit";
    }
  }
}

/** An agent id the worker verified: the imp it belongs to and the URL it was presented at. */
interface ResolvedAgent {
  impId: string;
  urlSecret: string;
  agentId: string;
  /** `https://<host>/agent/<agentId>`, the audience of assertions and tokens. */
  agentUrl: string;
  stub: DurableObjectStub<ImpSession>;
}

export type AgentEnv = { Bindings: Env; Variables: { agent: ResolvedAgent; call: AgentCall } };
