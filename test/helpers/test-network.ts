/**
 * The internet as the worker's own outbound fetches see it in the Workers-runtime tests
 * (vitest.config.ts: `miniflare.outboundService`). Agent code has no network unless the
 * operator allows hosts; then its requests go through the edge's OutboundGate, which
 * forwards allowed ones with the worker's fetch — and so end up here, where a test can
 * see what arrived.
 *
 *   https://allowed.impgate.test/...   answers what it received, as JSON
 *   .../redirect?to=URL                a 302 to URL
 *   https://<ACCESS_TEST_TEAM>/cdn-cgi/access/certs   the keys of a Cloudflare Access team the tests play (access-keys.ts)
 *   any other host                     answers "LEAKED", so a test sees a request that got past the gate
 */
import { ACCESS_TEST_PUBLIC_JWK, ACCESS_TEST_TEAM } from "./access-keys.ts";

export const ALLOWED_TEST_HOST = "allowed.impgate.test";

export function testNetwork(request: Request): Response {
  const url = new URL(request.url);
  if (url.hostname === ACCESS_TEST_TEAM && url.pathname === "/cdn-cgi/access/certs")
    return Response.json({ keys: [ACCESS_TEST_PUBLIC_JWK] });
  if (url.hostname !== ALLOWED_TEST_HOST) return new Response(`LEAKED: the network was reached for ${url.host}`);
  if (url.pathname === "/redirect") return new Response(null, { status: 302, headers: { location: url.searchParams.get("to") ?? "/" } });
  return Response.json({ reached: url.host, protocol: url.protocol, method: request.method, path: url.pathname });
}
