/**
 * Request bodies over the limit get 413 before they are buffered whole: a declared
 * Content-Length is refused at once, a chunked body as soon as the count passes the limit.
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { type AppEnv, DEFAULT_MAX_BODY_BYTES, intVar } from "../env.ts";
import { ApiError } from "../errors.ts";

/** A body limit of `maxSize` bytes (a number, or read from the bindings per request). */
export function limitBody(maxSize: number | ((env: AppEnv["Bindings"]) => number)): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const max = typeof maxSize === "number" ? maxSize : maxSize(c.env);
    return honoBodyLimit({
      maxSize: max,
      onError: () => {
        throw new ApiError(413, "body_too_large", `Request body exceeds ${max} bytes`);
      },
    })(c, next);
  };
}

/** The agent URL's limit for request bodies relayed to the device (MAX_BODY_BYTES). */
export const bodyLimit = limitBody((env) => intVar(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES));
