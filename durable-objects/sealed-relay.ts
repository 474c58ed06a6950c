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
import { relayFrame } from "./device-relay.ts";
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
  return relayFrame(parts, imp, (id, deadline) => encodeFrame({ t: "sreq", id, deadline, client }, sealed));
}
