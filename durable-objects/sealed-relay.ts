/**
 * Sealed traffic through the relay, for an admitted caller: the device's key statement
 * (`GET $AGENT/_sealed/key`), and a sealed request (`POST $AGENT/_sealed`), whose bytes go
 * to the device as an `sreq` frame, unread; its reply (the sealed response, or a refusal in
 * the clear when they did not open) comes back as the device sent it. Correlation,
 * deadlines and a device that drops are the plaintext relay's (./device-relay.ts,
 * ./pending-requests.ts). Agent code never sees sealed requests: it could not read them.
 */
import type { RelayReply } from "../edge/agent-call.ts";
import { fail, ok, type Result } from "../edge/errors.ts";
import { encodeFrame } from "../protocol/index.ts";
import { sendQuietly } from "./device-link.ts";
import { DEVICE_GONE, DEVICE_OFFLINE, DEVICE_TIMEOUT } from "./device-relay.ts";
import { refuseSealed } from "./e2e-policy.ts";
import type { ImpParts } from "./imp-parts.ts";
import type { ImpRecord } from "./imp-record.ts";

/** The statement callers seal to, checked by them against the identity key they pinned. */
export async function sealedKey(parts: ImpParts, imp: ImpRecord): Promise<Result<string>> {
  const refused = refuseSealed(imp);
  if (refused) return refused;
  const statement = await parts.sealedKeys.current(imp);
  if (statement) return ok(statement);
  return fail(
    "key_statement_not_found",
    "The device has sent no key statement yet: it sends one each time it connects with an e2e section in its config",
  );
}

export async function relaySealed(parts: ImpParts, imp: ImpRecord, sealed: Uint8Array, client: string): Promise<Result<RelayReply>> {
  const refused = refuseSealed(imp);
  if (refused) return refused;
  const ws = parts.liveSocket();
  if (!ws) return DEVICE_OFFLINE;
  const timeoutMs = parts.requestTimeout(imp);
  const id = crypto.randomUUID();
  const frame = encodeFrame({ t: "sreq", id, deadline: Date.now() + timeoutMs, client }, sealed);
  const settled = parts.pending.wait(id, ws, timeoutMs);
  if (!sendQuietly(ws, frame)) parts.pending.failSocket(ws);
  const result = await settled;
  switch (result.kind) {
    case "reply":
      return ok({ status: result.msg.status, headers: result.msg.headers, body: result.body });
    case "timeout":
      return DEVICE_TIMEOUT;
    case "device_gone":
      return DEVICE_GONE;
  }
}
