/**
 * A reference point for the bearer-verification target, not impgate's code path: what jose's
 * `jwtVerify` costs in this Node per token, for the algorithms a caller may use (SPEC:
 * ES256, EdDSA, HS256). impgate's own number comes from bench/caller-auth.ts.
 */
import { SignJWT, generateKeyPair, jwtVerify } from "jose";
import { webcrypto } from "node:crypto";
import { microsPerCall } from "../caller-auth.ts";
import { round } from "./stats.ts";

export interface JwtReference {
  alg: string;
  usPerVerify: number;
}

export async function jwtVerifyReference(budgetMs: number): Promise<JwtReference[]> {
  const out: JwtReference[] = [];
  const keys = {
    ES256: await generateKeyPair("ES256"),
    EdDSA: await generateKeyPair("EdDSA", { crv: "Ed25519" }),
    HS256: { privateKey: webcrypto.getRandomValues(new Uint8Array(32)), publicKey: webcrypto.getRandomValues(new Uint8Array(0)) },
  };
  keys.HS256.publicKey = keys.HS256.privateKey;
  for (const [alg, pair] of Object.entries(keys)) {
    const token = await new SignJWT({ scope: "agent" })
      .setProtectedHeader({ alg })
      .setAudience("agent")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(pair.privateKey);
    const us = await microsPerCall(() => jwtVerify(token, pair.publicKey, { algorithms: [alg], audience: "agent" }), budgetMs);
    out.push({ alg, usPerVerify: round(us, 1) });
  }
  return out;
}
