/**
 * The internet as the worker's own outbound fetches see it in the Workers-runtime tests
 * (vitest.config.ts: `miniflare.outboundService`). Agent code has no network unless the
 * operator allows hosts; then its requests go through the edge's OutboundGate, which
 * forwards allowed ones with the worker's fetch — and so end up here, where a test can
 * see what arrived.
 *
 *   https://allowed.impgate.test/...   answers what it received, as JSON
 *   .../redirect?to=URL                a 302 to URL
 *   any other host                     answers "LEAKED", so a test sees a request that got past the gate
 */
export const ALLOWED_TEST_HOST = "allowed.impgate.test";

export function testNetwork(request: Request): Response {
  const url = new URL(request.url);
  if (url.hostname !== ALLOWED_TEST_HOST) return new Response(`LEAKED: the network was reached for ${url.host}`);
  if (url.pathname === "/redirect") return new Response(null, { status: 302, headers: { location: url.searchParams.get("to") ?? "/" } });
  return Response.json({ reached: url.host, protocol: url.protocol, method: request.method, path: url.pathname });
}
