/**
 * The edge's bindings that every part of it reads (kept in step with wrangler.toml by hand:
 * vars there, secrets in `.dev.vars` locally and `wrangler secret put` in production), and
 * how their values are read. The Durable Object namespaces are added by the worker
 * (worker/env.ts), which is the only part that addresses objects by name.
 */

export interface EdgeEnv {
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
  /** The fleet registry (D1, migrations/): one row per imp, written by its object on change. */
  REGISTRY: D1Database;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function intVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The largest request or reply body relayed between a caller and the device (MAX_BODY_BYTES). */
export function maxBodyBytes(env: Pick<EdgeEnv, "MAX_BODY_BYTES">): number {
  return intVar(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
}

/** How long an agent request waits for the device unless its imp says otherwise (REQUEST_TIMEOUT_MS). */
export function defaultRequestTimeoutMs(env: Pick<EdgeEnv, "REQUEST_TIMEOUT_MS">): number {
  return intVar(env.REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS);
}
