/**
 * Imp ids and agent ids, unforgeable without AGENT_ID_KEY, so the worker can refuse a
 * garbage or made-up id without waking any Durable Object.
 *
 *   impId   = "imp_" b64url( impRand[16] || HMAC(k, "imp" || impRand)[0..16] )
 *   agentId = "agt_" b64url( impRand[16] || urlRand[16] || HMAC(k, "agent" || impRand || urlRand)[0..16] )
 *
 * The prefixes tell the two apart at a glance (they share their first 21 characters of
 * body). urlRand is fresh per rotation; the imp's object keeps the current one, so a
 * rotated id (still correctly MACed) is refused there with the very same 404.
 *
 * Each id has exactly one accepted spelling: 32 bytes take 43 base64url characters with
 * two spare bits in the last one, so "…A" and "…B" decode alike; an id is accepted only
 * if it re-encodes to itself (otherwise a variant spelling would name another, empty
 * Durable Object, or shift the path after it).
 */
import { base64url } from "jose";
import { Memo } from "../edge/memo.ts";
import { concatBytes } from "../protocol/index.ts";

const RAND_BYTES = 16;
const MAC_BYTES = 16;
const IMP_PREFIX = "imp_";
const AGENT_PREFIX = "agt_";
const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function macKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    let raw: Uint8Array;
    try {
      raw = base64url.decode(secret);
    } catch {
      raw = new Uint8Array(0);
    }
    if (raw.length < 32) return Promise.reject(new Error("AGENT_ID_KEY must be at least 32 bytes, base64url"));
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keyCache.set(secret, key);
  }
  return key;
}

async function mac(secret: string, label: string, ...parts: Uint8Array[]): Promise<Uint8Array> {
  const data = concatBytes(enc.encode(label), ...parts);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await macKey(secret), data)).subarray(0, MAC_BYTES);
}

function random(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(RAND_BYTES));
}

/** The bytes of `prefix` + base64url body, or null unless `id` is their one canonical spelling. */
function decode(id: string, prefix: string, length: number): Uint8Array | null {
  // 32 bytes encode to 43 chars, 48 to 64: check before decoding anything.
  const body = id.slice(prefix.length);
  if (!id.startsWith(prefix) || body.length !== Math.ceil((length * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(body)) return null;
  try {
    const bytes = base64url.decode(body);
    return bytes.length === length && base64url.encode(bytes) === body ? bytes : null;
  } catch {
    return null;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.subtle.timingSafeEqual(a, b);
}

function impIdOf(impRand: Uint8Array, impMac: Uint8Array): string {
  return IMP_PREFIX + base64url.encode(concatBytes(impRand, impMac));
}

export async function mintImpId(secret: string): Promise<string> {
  let impRand = random();
  // No id body begins with "-" (base64url 62 in the top six bits), so a body alone can never
  // be read as a command-line option; agent ids begin with the same characters. < 0.03 bits.
  while ((impRand[0] ?? 0) >> 2 === 62) impRand = random();
  return impIdOf(impRand, await mac(secret, "imp", impRand));
}

/** The imp id, or null for anything this edge did not mint. */
export async function verifyImpId(secret: string, impId: string): Promise<string | null> {
  const bytes = decode(impId, IMP_PREFIX, RAND_BYTES + MAC_BYTES);
  if (!bytes) return null;
  const impRand = bytes.subarray(0, RAND_BYTES);
  return equal(bytes.subarray(RAND_BYTES), await mac(secret, "imp", impRand)) ? impId : null;
}

export interface AgentRef {
  impId: string;
  /** The per-rotation part, checked against the imp's current one by its object. */
  urlSecret: string;
}

export async function mintAgentId(secret: string, impId: string): Promise<{ agentId: string; urlSecret: string }> {
  const urlSecret = base64url.encode(random());
  return { agentId: await composeAgentId(secret, impId, urlSecret), urlSecret };
}

/** The agent id of an imp's URL secret (what the imp's object keeps), so the admin API can show the current URL. */
export async function composeAgentId(secret: string, impId: string, urlSecret: string): Promise<string> {
  const imp = decode(impId, IMP_PREFIX, RAND_BYTES + MAC_BYTES);
  const urlRand = decode(urlSecret, "", RAND_BYTES);
  if (!imp || !urlRand) throw new Error("not an imp id and URL secret");
  const impRand = imp.subarray(0, RAND_BYTES);
  return AGENT_PREFIX + base64url.encode(concatBytes(impRand, urlRand, await mac(secret, "agent", impRand, urlRand)));
}

/**
 * Ids that verified, per isolate: the check is pure, so a hit skips two HMACs on the hot
 * path. Only successes are kept, so a flood of made-up ids cannot crowd out real ones.
 */
const verified = new Memo<AgentRef & { secret: string }>(10_000);

/** The imp an agent id belongs to, or null for anything this edge did not mint. */
export async function verifyAgentId(secret: string, agentId: string): Promise<AgentRef | null> {
  const hit = verified.get(agentId);
  if (hit && hit.secret === secret) return { impId: hit.impId, urlSecret: hit.urlSecret };
  const ref = await verifyAgentIdUncached(secret, agentId);
  if (ref) verified.set(agentId, { ...ref, secret });
  return ref;
}

async function verifyAgentIdUncached(secret: string, agentId: string): Promise<AgentRef | null> {
  const bytes = decode(agentId, AGENT_PREFIX, 2 * RAND_BYTES + MAC_BYTES);
  if (!bytes) return null;
  const impRand = bytes.subarray(0, RAND_BYTES);
  const urlRand = bytes.subarray(RAND_BYTES, 2 * RAND_BYTES);
  if (!equal(bytes.subarray(2 * RAND_BYTES), await mac(secret, "agent", impRand, urlRand))) return null;
  const impId = impIdOf(impRand, await mac(secret, "imp", impRand));
  return { impId, urlSecret: base64url.encode(urlRand) };
}
