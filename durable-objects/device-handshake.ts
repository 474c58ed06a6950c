/**
 * The edge's half of the device handshake: a fresh nonce signed with the edge key (the
 * device checks it against its pinned key), then the device's proof of its own key
 * over that nonce. Each socket's nonce is single-use.
 */
import { base64url } from "jose";
import { edgeKey } from "../edge/edge-key.ts";
import {
  CloseCode,
  encodeFrame,
  importVerifyKey,
  type MessageOf,
  PROTOCOL_VERSION,
  ProofError,
  signEdgeProof,
  verifyDeviceProof,
} from "../protocol/index.ts";
import { type PendingLink, writeLink } from "./device-link.ts";
import type { ImpRecord } from "./imp-record.ts";

export async function sendChallenge(
  ws: WebSocket,
  impId: string,
  cnonce: string,
  signingJwk: string,
  client: string,
): Promise<PendingLink> {
  const nonce = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const link: PendingLink = { state: "pending", nonce, cnonce, openedAt: Date.now(), client };
  writeLink(ws, link);
  const key = await edgeKey(signingJwk);
  const proof = await signEdgeProof(key.privateKey, key.alg, { impId, nonce, cnonce }, key.kid);
  ws.send(encodeFrame({ t: "challenge", nonce, proof }));
  return link;
}

/** Null when the hello proves the imp's device key over this socket's nonce; otherwise how to close. */
export async function checkHello(
  ws: WebSocket,
  imp: ImpRecord,
  link: PendingLink,
  msg: MessageOf<"hello">,
): Promise<{ code: number; reason: string; why: string } | null> {
  if (!msg.protocols.includes(PROTOCOL_VERSION))
    return { code: CloseCode.unsupportedVersion, reason: `edge speaks protocol ${PROTOCOL_VERSION}`, why: "unsupported_version" };
  if (!imp.devicePublicJwk) return { code: CloseCode.deviceRevoked, reason: "device key revoked", why: "device_key_revoked" };
  // The nonce is single-use: whatever the outcome, this socket cannot answer it again.
  writeLink(ws, { ...link, nonce: "" });
  try {
    await verifyDeviceProof(await importVerifyKey(imp.devicePublicJwk), msg.proof, { impId: imp.impId, nonce: link.nonce });
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    const code = {
      bad_signature: CloseCode.badDeviceProof,
      malformed: CloseCode.badDeviceProof,
      wrong_imp: CloseCode.wrongImp,
      stale: CloseCode.staleNonce,
      nonce_mismatch: CloseCode.staleNonce,
    }[err.code];
    return { code, reason: err.message, why: err.code };
  }
  if (!link.nonce) return { code: CloseCode.staleNonce, reason: "nonce already used", why: "nonce_reused" };
  return null;
}
