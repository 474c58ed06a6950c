/**
 * Request bodies over the limit get 413 before they are buffered whole: a declared
 * Content-Length is refused at once, a chunked body as soon as the count passes the limit.
 */
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";
import { DEFAULT_MAX_BODY_BYTES, intVar, type AppEnv } from "../env.ts";

export const bodyLimit: MiddlewareHandler<AppEnv> = (c, next) => {
  const maxSize = intVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
  return honoBodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "body_too_large", `Request body exceeds ${maxSize} bytes`);
    },
  })(c, next);
};
