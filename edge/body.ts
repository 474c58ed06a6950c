/**
 * Reading a body up to a limit, the one way everywhere it is done: a caller's request in
 * the worker (before the body limit's middleware can), a caller's message in the imp's
 * object, agent code's response. Nothing past the limit is ever buffered: a declared
 * length over it is refused at once, a stream as soon as its count passes it, and the rest
 * is cancelled unread.
 */
import { concatBytes } from "../protocol/bytes.ts";
import { fail, ok, type Result } from "./errors.ts";

/** A body that takes longer than this to arrive is refused (readBody): an idempotency key is never held for long. */
const BODY_READ_TIMEOUT_MS = 30_000;

/** How reading stopped short of a whole body. */
export type ShortRead = "too_large" | "timeout" | "incomplete";

/**
 * The bytes of `stream`, at most `max`. `declaredLength` (a Content-Length the sender
 * stated) refuses a longer body before anything is read; `timeoutMs` bounds the wait.
 *
 * @example
 * ```ts
 * const read = await readUpTo(response.body, 1024 * 1024, { declaredLength: Number(response.headers.get("content-length")) });
 * if (read === "too_large") return tooLarge();
 * ```
 */
export async function readUpTo(
  stream: ReadableStream<Uint8Array> | null,
  max: number,
  options: { declaredLength?: number; timeoutMs?: number } = {},
): Promise<Uint8Array | ShortRead> {
  if (!stream) return new Uint8Array(0);
  // A declared length that is not a number is no promise of a short body either.
  if (options.declaredLength !== undefined && !(options.declaredLength <= max)) {
    await stream.cancel().catch(() => {});
    return "too_large";
  }
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A timer, not an alarm: it lives only as long as this read, which keeps its isolate or object awake anyway.
  const deadline =
    options.timeoutMs === undefined
      ? null
      : new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
        });
  try {
    for (;;) {
      const next = await (deadline ? Promise.race([reader.read(), deadline]) : reader.read());
      if (next === "timeout") return "timeout";
      if (next.done) return concatBytes(...chunks);
      size += next.value.byteLength;
      if (size > max) return "too_large";
      chunks.push(next.value);
    }
  } catch {
    return "incomplete";
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    // Whatever was not read is not wanted; cancelling tells the sender at once.
    reader.cancel().catch(() => {});
  }
}

/**
 * A caller's body as the worker hands it to an imp's object: streamed (so a POST's
 * idempotency key can be held while the body arrives, and a retry meanwhile is told the
 * first is still in progress), or already read whole where a check before had to.
 */
export type RequestBody = ReadableStream<Uint8Array> | Uint8Array | null;

/** A caller's body, up to `maxBytes` and BODY_READ_TIMEOUT_MS, or the refusal to answer. */
export async function readBody(body: RequestBody, maxBytes: number): Promise<Result<Uint8Array>> {
  const read =
    body instanceof Uint8Array
      ? body.byteLength > maxBytes
        ? "too_large"
        : body
      : await readUpTo(body, maxBytes, { timeoutMs: BODY_READ_TIMEOUT_MS });
  switch (read) {
    case "too_large":
      return fail("body_too_large", `Request body exceeds ${maxBytes} bytes`);
    case "timeout":
      return fail("body_timeout", `The request body did not arrive within ${BODY_READ_TIMEOUT_MS / 1000} s`);
    case "incomplete":
      return fail("body_incomplete", "The request body could not be read to its end");
    default:
      return ok(read);
  }
}
