/**
 * `Cache-Control: no-store` (RFC 9111 §5.2.2.5) on an answer meant for one caller: no
 * cache, shared or private, may keep it, so a proxy or CDN between a caller and the edge
 * never hands one caller's authenticated answer to someone else. Every error the edge
 * makes already carries it (worker/errors.ts); this covers the successful answers of the
 * agent's own APIs. Relayed replies are decided in worker/relay.ts.
 */
import type { MiddlewareHandler } from "hono";

const NO_STORE = "no-store";

export const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set("Cache-Control", NO_STORE);
};
