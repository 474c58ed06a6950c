/**
 * The relay: a caller's (or agent code's) request as a frame to the device, and its reply,
 * correlated by id (./pending-requests.ts). A device that is offline, does not answer in
 * time or drops before answering is a Failure, answered like every other refusal.
 */

import type { RelayReply, RelayRequest } from "../edge/agent-call.ts";
import { type Failure, fail, ok, type Result } from "../edge/errors.ts";
import { encodeFrame } from "../protocol/index.ts";
import { sendQuietly } from "./device-link.ts";
import type { ImpParts } from "./imp-parts.ts";
import type { ImpRecord } from "./imp-record.ts";

const DEVICE_OFFLINE: Failure = fail("device_offline", "The device is offline", { retryAfter: 10 });
const DEVICE_TIMEOUT: Failure = fail("device_timeout", "The device did not answer in time");
const DEVICE_GONE: Failure = fail("device_disconnected", "The device disconnected before answering");
const DEVICE_SILENT: Failure = fail("device_silent", "The device went silent before answering", { retryAfter: 10 });

export function relay(parts: ImpParts, imp: ImpRecord, req: RelayRequest): Promise<Result<RelayReply>> {
  return relayFrame(parts, imp, (id, deadline) =>
    encodeFrame({ t: "req", id, method: req.method, path: req.path, query: req.query, headers: req.headers, deadline }, req.body),
  );
}

/** Sends the frame `frame(id, deadline)` makes (a `req`, or a sealed `sreq`) and waits for the device's `res` to it. */
export async function relayFrame(
  parts: ImpParts,
  imp: ImpRecord,
  frame: (id: string, deadline: number) => Uint8Array,
): Promise<Result<RelayReply>> {
  // A device silent past its presence timeout is offline here and now, even before the alarm saw it.
  const ws = await parts.presence.live();
  if (!ws) return DEVICE_OFFLINE;
  const timeoutMs = parts.requestTimeout(imp);
  const id = crypto.randomUUID();
  const settled = parts.pending.wait(id, ws, timeoutMs);
  if (!sendQuietly(ws, frame(id, Date.now() + timeoutMs))) parts.pending.failSocket(ws);
  const result = await settled;
  switch (result.kind) {
    case "reply":
      return ok({ status: result.msg.status, headers: result.msg.headers, body: result.body });
    case "timeout":
      return DEVICE_TIMEOUT;
    case "device_gone":
      return DEVICE_GONE;
    case "device_silent":
      return DEVICE_SILENT;
  }
}
