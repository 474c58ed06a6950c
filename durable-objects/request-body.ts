/**
 * A caller's request body, streamed from the worker into the imp's object and read here,
 * up to a limit and a deadline. Streamed rather than buffered by the worker so that a
 * POST's idempotency key can be held while its body arrives (a retry meanwhile is told
 * the first is still in progress), and so nothing past the limit is ever buffered.
 */
import { fail, ok, type Result } from "../edge/errors.ts";

/** A body that takes longer than this to arrive is refused: a key is never held for long. */
export const BODY_READ_TIMEOUT_MS = 30_000;

/** A streamed body, or one the worker already had to read whole (bytes). */
export type RequestBody = ReadableStream<Uint8Array> | Uint8Array | null;

export async function readBody(body: RequestBody, maxBytes: number): Promise<Result<Uint8Array>> {
  if (!body) return ok(new Uint8Array(0));
  if (body instanceof Uint8Array) {
    return body.byteLength > maxBytes ? fail("body_too_large", `Request body exceeds ${maxBytes} bytes`) : ok(body);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  // A timer, not the alarm: it lives only as long as this request, which keeps the object awake anyway.
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), BODY_READ_TIMEOUT_MS);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === "timeout") return fail("body_timeout", `The request body did not arrive within ${BODY_READ_TIMEOUT_MS / 1000} s`);
      if (next.done) break;
      size += next.value.byteLength;
      if (size > maxBytes) return fail("body_too_large", `Request body exceeds ${maxBytes} bytes`);
      chunks.push(next.value);
    }
  } catch {
    return fail("body_incomplete", "The request body could not be read to its end");
  } finally {
    if (timer !== null) clearTimeout(timer);
    // Whatever was not read is not wanted; cancelling tells the sender at once.
    reader.cancel().catch(() => {});
  }
  const data = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return ok(data);
}
