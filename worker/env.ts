/**
 * The worker's bindings, kept in step with wrangler.toml by hand: vars there,
 * secrets in `.dev.vars` locally and `wrangler secret put` in production.
 */

import type { AgentCall } from "../durable-objects/agent-call.ts";
import type { EdgeAudit } from "../durable-objects/edge-audit.ts";
import type { ImpSession } from "../durable-objects/imp-session.ts";

export interface Env {
  IMP: DurableObjectNamespace<ImpSession>;
  /** The edge's own security events (failed admin authentication): one object, `GET /admin/audit`. */
  EDGE_AUDIT: DurableObjectNamespace<EdgeAudit>;
  /** The Dynamic Worker Loader: runs each imp's agent code in its own isolate. */
  LOADER: WorkerLoader;
  /** Bearer secret for the admin API. Unset: the admin API answers 503. */
  ADMIN_SECRET?: string;
  /** HMAC key (base64url, >= 32 bytes) that makes imp and agent ids unforgeable. */
  AGENT_ID_KEY: string;
  /** The edge's private signing key, a JWK (Ed25519 or P-256) as JSON. */
  EDGE_SIGNING_JWK: string;
  /** Default ms an agent request waits for the device. */
  REQUEST_TIMEOUT_MS?: string;
  /** Largest request or reply body, in bytes. */
  MAX_BODY_BYTES?: string;
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
export interface ResolvedAgent {
  impId: string;
  urlSecret: string;
  agentId: string;
  /** `https://<host>/agent/<agentId>`, the audience of assertions and tokens. */
  agentUrl: string;
  stub: DurableObjectStub<ImpSession>;
}

export type AgentEnv = { Bindings: Env; Variables: { agent: ResolvedAgent; call: AgentCall } };

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function intVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isSafeInteger(n) && n > 0 ? n : fallback;
}
