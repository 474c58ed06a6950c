/**
 * The relay: a caller's (or agent code's) request as a frame to the device, and its reply,
 * correlated by id (./pending-requests.ts). A device that is offline, does not answer in
 * time or drops before answering is a Failure, answered like every other refusal.
 *
 * A caller's body is read (up to the limit, so an over-limit body is refused before the
 * device sees any of it) straight into the frame that carries it, and a large reply goes
 * back to the worker as a stream of the frame it arrived in: held whole once here.
 */

import type { CallerRequest, RelayReply, RelayRequest } from "../edge/agent-call.ts";
import { readBody } from "../edge/body.ts";
import { maxBodyBytes } from "../edge/env.ts";
import { type Failure, fail, ok, type Result } from "../edge/errors.ts";
import { frameHead } from "../protocol/index.ts";
import { sendQuietly } from "./device-link.ts";
import type { ImpParts } from "./imp-parts.ts";
import type { ImpRecord } from "./imp-record.ts";

const DEVICE_OFFLINE: Failure = fail("device_offline", "The device is offline", { retryAfter: 10 });
const DEVICE_TIMEOUT: Failure = fail("device_timeout", "The device did not answer in time");
const DEVICE_GONE: Failure = fail("device_disconnected", "The device disconnected before answering");
const DEVICE_SILENT: Failure = fail("device_silent", "The device went silent before answering", { retryAfter: 10 });

/** Replies up to this size cross back to the worker as bytes (cheaper); larger ones stream. */
const INLINE_REPLY_BYTES = 64 * 1024;

export async function relay(parts: ImpParts, imp: ImpRecord, req: RelayRequest | CallerRequest): Promise<Result<RelayReply>> {
  const declaredLength = "bodyLength" in req && req.bodyLength !== null ? req.bodyLength : undefined;
  const result = await relayFrame(parts, imp, async (id, deadline) => {
    const { method, path, query, headers } = req;
    const head = frameHead({ t: "req", id, method, path, query, headers, deadline });
    const frame = await readBody(req.body, maxBodyBytes(parts.env), { reserve: head.length, declaredLength });
    if (frame.ok) frame.value.set(head);
    return frame;
  });
  // Offline: the body was never read, and is not wanted.
  if (req.body instanceof ReadableStream && !req.body.locked) await req.body.cancel().catch(() => {});
  return result;
}

/**
 * Sends the frame `frame(id, deadline)` makes (a `req`, or a sealed `sreq`) and waits for the
 * device's `res` to it. A frame that must first read a body makes it asynchronously, and may
 * refuse (its body over the limit): nothing is sent then.
 */
export async function relayFrame(
  parts: ImpParts,
  imp: ImpRecord,
  frame: (id: string, deadline: number) => Uint8Array | Promise<Result<Uint8Array>>,
): Promise<Result<RelayReply>> {
  // A device silent past its presence timeout is offline here and now, even before the alarm saw it.
  const ws = await parts.presence.live();
  if (!ws) return DEVICE_OFFLINE;
  const timeoutMs = parts.requestTimeout(imp);
  const id = crypto.randomUUID();
  const made = await frame(id, Date.now() + timeoutMs);
  if (!(made instanceof Uint8Array) && !made.ok) return made;
  const settled = parts.pending.wait(id, ws, timeoutMs);
  if (!sendQuietly(ws, made instanceof Uint8Array ? made : made.value)) parts.pending.failSocket(ws);
  const result = await settled;
  switch (result.kind) {
    case "reply": {
      const { body } = result;
      return ok({
        status: result.msg.status,
        headers: result.msg.headers,
        body: body.byteLength > INLINE_REPLY_BYTES ? streamOf(body) : body,
      });
    }
    case "timeout":
      return DEVICE_TIMEOUT;
    case "device_gone":
      return DEVICE_GONE;
    case "device_silent":
      return DEVICE_SILENT;
  }
}

/**
 * The bytes as a stream of one chunk, a view of the frame they arrived in: nothing is copied
 * on this side, and the RPC carries it on to the worker in its own pieces.
 */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  // Not a byte stream: enqueueing into one would detach the frame's buffer.
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
