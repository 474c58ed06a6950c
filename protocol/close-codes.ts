/**
 * WebSocket close codes used on the device link. Distinct codes let a daemon tell a
 * fixable refusal (wrong key, wrong imp) from a transient one (timeout, replaced).
 */
export const CloseCode = {
  /** A frame the peer could not decode or did not expect. */
  protocolError: 4000,
  /** The device did not finish the handshake in time. */
  handshakeTimeout: 4001,
  /** The device's proof did not verify with the key the edge holds for this imp. */
  badDeviceProof: 4002,
  /** The proof is valid but names another imp. */
  wrongImp: 4003,
  /** The proof answers a nonce that is stale, unknown or already used. */
  staleNonce: 4004,
  /** The imp does not exist or its device key was revoked. */
  deviceRevoked: 4005,
  /** The imp was disabled with --drop-device: the device is refused until it is enabled again (the daemon keeps retrying). */
  disabled: 4006,
  /** The edge heard nothing from the device (no heartbeat, no frame) for longer than the imp's presence timeout. */
  silent: 4008,
  /** A newer authenticated connection for the same imp took over. */
  replaced: 4009,
  /** Device side: the edge's handshake signature did not verify with the pinned edge key. */
  badEdgeProof: 4010,
  /** The protocol versions offered do not overlap. */
  unsupportedVersion: 4011,
} as const;

/** Codes after which reconnecting with the same configuration cannot succeed. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.badDeviceProof,
  CloseCode.wrongImp,
  CloseCode.deviceRevoked,
  CloseCode.unsupportedVersion,
]);

export function closeCodeName(code: number): string {
  for (const [name, value] of Object.entries(CloseCode)) if (value === code) return name;
  return `code ${code}`;
}
