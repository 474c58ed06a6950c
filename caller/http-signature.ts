/**
 * The caller's half of RFC 9421: signs a request with the caller's own key, as an
 * `http-signature` credential expects (profile: protocol/http-signature.ts). WebCrypto
 * for the signature, `http-message-signatures` for the signature base: runs in Node and
 * browsers alike. No token exchange: the key is the credential.
 */
import { type InnerList, type Item, serializeDictionary } from "structured-headers";
import { contentDigest } from "../protocol/content-digest.ts";
import { HTTP_SIGNATURE_ALGORITHMS, httpSignatureAlgorithm, signatureBase } from "../protocol/http-signature.ts";
import type { CallerKey } from "./key.ts";

export interface RequestToSign {
  method: string;
  /** The full URL the request goes to, exactly as it will be sent. */
  url: string;
  /** Headers the request will carry (any case); those named in `signedHeaders` must be here. */
  headers?: Record<string, string>;
  /** The body, if any: its Content-Digest is computed and signed. */
  body?: Uint8Array | string | null;
}

export interface SignOptions {
  /** The credential id (`impgate cred add` prints it): the signature's `keyid`. */
  keyId: string;
  /** Further header fields to cover, as the credential requires (lower case). */
  signedHeaders?: readonly string[];
  /** Unix seconds for `created`; now by default. */
  created?: number;
  /** A unique nonce; a random one by default. Never reuse one: the edge refuses a replay. */
  nonce?: string;
}

/**
 * The headers that sign `request`: `Signature-Input`, `Signature`, and `Content-Digest`
 * when there is a body. Send them with the request, unchanged, along with every header
 * they cover.
 *
 * @example
 * ```ts
 * const key = await importCallerKey(JSON.parse(await readFile("k.jwk", "utf8")));
 * const url = `${agentUrl}/hooks/build`;
 * const body = JSON.stringify({ ref: "main" });
 * const headers = { "content-type": "application/json" };
 * const signed = await signRequest(key, { method: "POST", url, headers, body }, { keyId: "cred_…" });
 * await fetch(url, { method: "POST", headers: { ...headers, ...signed }, body });
 * ```
 */
export async function signRequest(key: CallerKey, request: RequestToSign, options: SignOptions): Promise<Record<string, string>> {
  const alg = httpSignatureAlgorithm(key.publicJwk);
  if (alg === null) throw new TypeError("an http-signature key is Ed25519 or ECDSA P-256");
  const body = typeof request.body === "string" ? new TextEncoder().encode(request.body) : (request.body ?? new Uint8Array());
  const out: Record<string, string> = {};
  const headers: Record<string, string> = { ...request.headers };
  const components = ["@method", "@target-uri"];
  if (body.length > 0) {
    out["content-digest"] = await contentDigest(body);
    headers["content-digest"] = out["content-digest"];
    components.push("content-digest");
  }
  for (const name of options.signedHeaders ?? []) if (!components.includes(name)) components.push(name);
  const params = new Map<string, string | number>([
    ["created", options.created ?? Math.floor(Date.now() / 1000)],
    ["nonce", options.nonce ?? crypto.randomUUID()],
    ["keyid", options.keyId],
    ["alg", alg],
  ]);
  const input: InnerList = [components.map((c): Item => [c, new Map()]), params];
  // What fetch sends: the URL serialized as WHATWG URL parsing writes it.
  const base = signatureBase({ method: request.method, url: new URL(request.url).href, headers }, input);
  const signature = await crypto.subtle.sign(HTTP_SIGNATURE_ALGORITHMS[alg].webCrypto, key.privateKey, new TextEncoder().encode(base));
  out["signature-input"] = serializeDictionary(new Map([["sig", input]]));
  out.signature = serializeDictionary(new Map([["sig", [signature, new Map()]]]));
  return out;
}
