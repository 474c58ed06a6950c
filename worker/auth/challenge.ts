/**
 * Challenge nonces for the JWT challenge-response. Minted without touching storage:
 *   nonce = b64url( issuedAt[8] || random[16] || HMAC(k, "challenge" || agentId || issuedAt || random)[0..16] )
 * so the worker can refuse a made-up, stale or foreign nonce by itself; the imp's object
 * makes each one single-use when it is redeemed.
 */
import { base64url } from "jose";
import { CHALLENGE_TTL_S } from "../../protocol/index.ts";

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function key(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", base64url.decode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, k);
  }
  return k;
}

async function mac(secret: string, agentId: string, head: Uint8Array): Promise<Uint8Array> {
  const label = enc.encode(`challenge:${agentId}:`);
  const data = new Uint8Array(label.length + head.length);
  data.set(label);
  data.set(head, label.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key(secret), data)).subarray(0, 16);
}

export async function mintChallenge(secret: string, agentId: string, now = Date.now()): Promise<{ nonce: string; expiresAt: number }> {
  const head = new Uint8Array(24);
  new DataView(head.buffer).setBigUint64(0, BigInt(now));
  head.set(crypto.getRandomValues(new Uint8Array(16)), 8);
  const nonce = new Uint8Array(40);
  nonce.set(head);
  nonce.set(await mac(secret, agentId, head), 24);
  return { nonce: base64url.encode(nonce), expiresAt: now + CHALLENGE_TTL_S * 1000 };
}

/** When the nonce expires (ms), or null if this edge did not mint it for this agent, or it is stale. */
export async function checkChallenge(secret: string, agentId: string, nonce: string, now = Date.now()): Promise<number | null> {
  if (typeof nonce !== "string" || nonce.length !== 54 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return null;
  const bytes = base64url.decode(nonce);
  const issuedAt = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0));
  const expected = await mac(secret, agentId, bytes.subarray(0, 24));
  if (!crypto.subtle.timingSafeEqual(expected, bytes.subarray(24))) return null;
  const expiresAt = issuedAt + CHALLENGE_TTL_S * 1000;
  return issuedAt <= now + 5000 && now < expiresAt ? expiresAt : null;
}
