/**
 * The edge as deployed with a console host of its own (CONSOLE_HOST, AGENT_HOST: see
 * worker/origins.ts): the worker called with those bindings set. The other worker tests run
 * on one shared origin (no console), as an edge without those hosts does.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../worker/env.ts";
import worker from "../../worker/index.ts";
import { randomClient } from "./helpers.ts";

export const CONSOLE = "https://console.edge.test";
export const AGENT_ORIGIN = "https://edge.test";

export function separatedEnv(extra: Partial<Env> = {}): Env {
  return { ...(env as unknown as Env), CONSOLE_HOST: "console.edge.test", AGENT_HOST: "edge.test", ...extra };
}

/** A request to the edge with separate origins; from a fresh client address unless it names one. */
export async function separatedFetch(url: string, init?: RequestInit, extra: Partial<Env> = {}): Promise<Response> {
  const req = new Request(url, init);
  if (!req.headers.has("cf-connecting-ip")) req.headers.set("cf-connecting-ip", randomClient());
  const ctx = createExecutionContext();
  const res = await worker.fetch(req, separatedEnv(extra), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** The admin API on the console's origin. */
export function consoleAdmin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${env.ADMIN_SECRET}`);
  if (init.body) headers.set("content-type", "application/json");
  return separatedFetch(`${CONSOLE}/admin${path}`, { ...init, headers });
}
