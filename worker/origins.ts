/**
 * Which origin serves what. Devices serve content through agent URLs (HTML, scripts,
 * cookies, CORS headers: whatever a device's local service answers), so the console, whose
 * session is a cookie, must not share their origin, nor may the admin API. With CONSOLE_HOST
 * set, that host serves only `/console` and `/admin`, and every other host (AGENT_HOST, in
 * production the only other one routed here) serves only agent URLs and device links; each
 * answers the other's paths with the same 404 as an unknown agent id.
 *
 * Hosts are compared by name only: a port follows the request, so `npm start` serves the
 * console at https://127.0.0.1:8787 and agent URLs at https://localhost:8787 (two hosts, two
 * origins, two cookie jars: cookies are not kept apart by port).
 */
import type { MiddlewareHandler } from "hono";
import { agentNotFound } from "../edge/refusals.ts";
import type { AppEnv, Env } from "./env.ts";

/** What a request's host serves: the console's paths, the agent's, or (no CONSOLE_HOST) the agent's and the admin API. */
export type Surface = "console" | "agent" | "shared";

type Hosts = Pick<Env, "CONSOLE_HOST" | "AGENT_HOST">;

export function surfaceOf(env: Hosts, url: URL): Surface {
  const consoleHost = env.CONSOLE_HOST?.trim().toLowerCase();
  if (!consoleHost) return "shared";
  return url.hostname === consoleHost ? "console" : "agent";
}

/** Whether the console is served at all: only on a host of its own. */
export function consoleEnabled(env: Hosts): boolean {
  return Boolean(env.CONSOLE_HOST?.trim());
}

/**
 * The origin of agent URLs and device links, for URLs the admin API hands out: AGENT_HOST
 * with the request's port (none in production), else the request's own origin.
 */
export function agentOrigin(env: Hosts, requestUrl: string): string {
  const url = new URL(requestUrl);
  const host = env.AGENT_HOST?.trim().toLowerCase();
  if (!host || !consoleEnabled(env)) return url.origin;
  return `https://${host}${url.port && !host.includes(":") ? `:${url.port}` : ""}`;
}

const CONSOLE_PATHS = /^\/(console|admin)(\/|$)/;

/** The path as loosely as any server might read it (decoded, `\` as `/`, slashes merged, any case). */
function loosely(pathname: string): string {
  let path = pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // not decodable: matched as sent
  }
  return path
    .replace(/\\/g, "/")
    .replace(/\/{2,}/g, "/")
    .toLowerCase();
}

/** Each origin answers only its own paths; anything else gets the one 404. */
export const originRule: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = new URL(c.req.url);
  const surface = surfaceOf(c.env, url);
  if (surface === "console") {
    // The console's origin has nothing else: `/` is the fleet page. Only the exact spelling gets in.
    if (url.pathname === "/" && c.req.method === "GET") return c.redirect("/console", 302);
    if (!CONSOLE_PATHS.test(url.pathname)) throw agentNotFound();
  } else {
    // Agent URLs' origin: nothing that even looks like the console (or, with its own host, the admin API).
    const path = loosely(url.pathname);
    if (path.startsWith("/console") || (surface === "agent" && path.startsWith("/admin"))) throw agentNotFound();
  }
  await next();
};
