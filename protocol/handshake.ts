/**
 * The device-link handshake, shared by edge and device. Each side signs a short JWT:
 *  - the edge signs {sub: impId, nonce, cnonce}: the device checks it with its pinned
 *    edge key before revealing anything, so a rogue TLS endpoint learns nothing;
 *  - the device signs {sub: impId, nonce}: the edge checks it with the imp's device key.
 * `cnonce` is the device's fresh value (sent in the connect URL) so an edge signature
 * cannot be replayed from an earlier connection.
 */
import { type CryptoKey, errors, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { CodedError } from "./errors.ts";

const EDGE_PROOF_TYP = "impgate-edge+jwt";
export const DEVICE_PROOF_TYP = "impgate-device+jwt";
export const DEVICE_PROOF_AUDIENCE = "impgate-edge";
/** Clock skew tolerated between device and edge, and the lifetime of each proof. */
const PROOF_MAX_AGE_S = 60;

/** Why a proof was refused; the edge maps these to close codes. */
export type ProofFailure = "bad_signature" | "wrong_imp" | "stale" | "nonce_mismatch" | "malformed";

export class ProofError extends CodedError<ProofFailure> {
  override readonly name = "ProofError";
}

/** Signature algorithms a device or edge key may use. */
const PROOF_ALGORITHMS = ["EdDSA", "ES256"] as const;

export function algorithmForJwk(jwk: JWK): "EdDSA" | "ES256" {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new Error("unsupported key: use Ed25519 or P-256");
}

export async function importSigningKey(privateJwk: JWK): Promise<CryptoKey> {
  return (await importJWK(privateJwk, algorithmForJwk(privateJwk))) as CryptoKey;
}

export async function importVerifyKey(publicJwk: JWK): Promise<CryptoKey> {
  const { d: _private, ...pub } = publicJwk;
  return (await importJWK(pub, algorithmForJwk(pub))) as CryptoKey;
}

export interface EdgeProofClaims {
  impId: string;
  nonce: string;
  cnonce: string;
}

export async function signEdgeProof(key: CryptoKey, alg: string, claims: EdgeProofClaims, kid?: string): Promise<string> {
  return new SignJWT({ nonce: claims.nonce, cnonce: claims.cnonce })
    .setProtectedHeader({ alg, typ: EDGE_PROOF_TYP, ...(kid ? { kid } : {}) })
    .setSubject(claims.impId)
    .setIssuedAt()
    .setExpirationTime(`${PROOF_MAX_AGE_S}s`)
    .sign(key);
}

/** Device side: accept the edge's proof only if one of the pinned edge keys signed it. */
export async function verifyEdgeProof(pinned: readonly CryptoKey[], proof: string, expect: EdgeProofClaims): Promise<void> {
  const payload = await verifyWithAny(pinned, proof, EDGE_PROOF_TYP);
  checkClaims(payload, expect.impId, expect.nonce);
  if (payload.cnonce !== expect.cnonce) throw new ProofError("nonce_mismatch", "edge proof answers another connection");
}

export async function signDeviceProof(key: CryptoKey, alg: string, claims: { impId: string; nonce: string }): Promise<string> {
  return new SignJWT({ nonce: claims.nonce })
    .setProtectedHeader({ alg, typ: DEVICE_PROOF_TYP })
    .setSubject(claims.impId)
    .setAudience(DEVICE_PROOF_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${PROOF_MAX_AGE_S}s`)
    .sign(key);
}

/** Edge side: the device proves possession of the imp's key over this connection's nonce. */
export async function verifyDeviceProof(deviceKey: CryptoKey, proof: string, expect: { impId: string; nonce: string }): Promise<void> {
  const payload = await verifyWithAny([deviceKey], proof, DEVICE_PROOF_TYP, DEVICE_PROOF_AUDIENCE);
  checkClaims(payload, expect.impId, expect.nonce);
}

async function verifyWithAny(keys: readonly CryptoKey[], jwt: string, typ: string, audience?: string): Promise<JWTPayload> {
  let stale = false;
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(jwt, key, {
        typ,
        audience,
        algorithms: [...PROOF_ALGORITHMS],
        maxTokenAge: `${PROOF_MAX_AGE_S}s`,
        clockTolerance: 30,
        requiredClaims: ["sub", "iat", "exp", "nonce"],
      });
      return payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired || (err instanceof errors.JWTClaimValidationFailed && err.claim === "iat")) stale = true;
      else if (!(err instanceof errors.JOSEError) && !(err instanceof TypeError)) throw err;
    }
  }
  if (stale) throw new ProofError("stale", "proof is too old or from the future");
  throw new ProofError("bad_signature", "proof does not verify");
}

function checkClaims(payload: JWTPayload, impId: string, nonce: string): void {
  if (payload.sub !== impId) throw new ProofError("wrong_imp", "proof names another imp");
  if (payload.nonce !== nonce) throw new ProofError("nonce_mismatch", "proof answers another nonce");
}
