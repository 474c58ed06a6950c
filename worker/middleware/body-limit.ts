/**
 * Request bodies over the limit get 413 before they are buffered whole: a declared
 * Content-Length is refused at once, a chunked body as soon as the count passes the limit.
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { readUpTo } from "../../edge/body.ts";
import { maxBodyBytes } from "../../edge/env.ts";
import { ImpgateError } from "../../edge/errors.ts";
import type { AppEnv } from "../env.ts";

/**
 * Reads a request body only up to `max` bytes (edge/body.ts): null as soon as it is known
 * to be longer, and the rest is never read. For the few places that must read a body
 * before the middleware above.
 */
export async function readBodyWithin(req: Request, max: number): Promise<Uint8Array | null> {
  const declared = req.headers.has("transfer-encoding") ? null : req.headers.get("content-length");
  const read = await readUpTo(req.body, max, declared === null ? {} : { declaredLength: Number(declared) });
  if (read === "too_large") return null;
  if (typeof read === "string") throw new ImpgateError("body_incomplete", "The request body could not be read to its end");
  return read;
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
