/**
 * A reference point for the bearer-verification target, not impgate's code path: what jose's
 * `jwtVerify` costs in this Node per token, for the algorithms a caller may use (SPEC:
 * ES256, EdDSA, HS256). impgate's own number comes from bench/caller-auth.ts.
 */
import { webcrypto } from "node:crypto";
import { type CryptoKey, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { microsPerCall } from "../caller-auth.ts";
import { round } from "./stats.ts";

export interface JwtReference {
  alg: string;
  usPerVerify: number;
}

type Keys = { sign: CryptoKey | Uint8Array; verify: CryptoKey | Uint8Array };

export async function jwtVerifyReference(budgetMs: number): Promise<JwtReference[]> {
  const es256 = await generateKeyPair("ES256");
  const eddsa = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const secret = webcrypto.getRandomValues(new Uint8Array(32));
  const keys: Record<string, Keys> = {
    ES256: { sign: es256.privateKey, verify: es256.publicKey },
    EdDSA: { sign: eddsa.privateKey, verify: eddsa.publicKey },
    HS256: { sign: secret, verify: secret },
  };
  const out: JwtReference[] = [];
  for (const [alg, key] of Object.entries(keys)) {
    const token = await new SignJWT({ scope: "agent" })
      .setProtectedHeader({ alg })
      .setAudience("agent")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key.sign);
    const us = await microsPerCall(() => jwtVerify(token, key.verify, { algorithms: [alg], audience: "agent" }), budgetMs);
    out.push({ alg, usPerVerify: round(us, 1) });
  }
  return out;
}
