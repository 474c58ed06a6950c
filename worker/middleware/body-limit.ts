/**
 * Request bodies over the limit get 413 before they are buffered whole: a declared
 * Content-Length is refused at once, a chunked body as soon as the count passes the limit.
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { maxBodyBytes } from "../../edge/env.ts";
import { ImpgateError } from "../../edge/errors.ts";
import type { AppEnv } from "../env.ts";

/**
 * Reads a request body only up to `max` bytes: null as soon as it is known to be longer
 * (a declared Content-Length at once, a streamed body when the count passes `max`, and the
 * rest is never read). For the few places that must read a body before the middleware above.
 */
export async function readBodyWithin(req: Request, max: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const declared = req.headers.get("content-length");
  if (declared !== null && !req.headers.has("transfer-encoding") && !(Number(declared) <= max)) {
    await req.body.cancel().catch(() => {});
    return null;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** A body limit of `maxSize` bytes (a number, or read from the bindings per request). */
export function limitBody(maxSize: number | ((env: AppEnv["Bindings"]) => number)): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const max = typeof maxSize === "number" ? maxSize : maxSize(c.env);
    return honoBodyLimit({
      maxSize: max,
      onError: () => {
        throw bodyTooLarge(max);
      },
    })(c, next);
  };
}

/** The agent URL's limit for request bodies relayed to the device (MAX_BODY_BYTES). */
export const bodyLimit = limitBody(maxBodyBytes);

export function bodyTooLarge(max: number): ImpgateError {
  return new ImpgateError("body_too_large", `Request body exceeds ${max} bytes`);
}
