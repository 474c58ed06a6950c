/** The edge's three secrets, as `impgate edge init` makes them (and `npm start` for local runs). */
import { webcrypto } from "node:crypto";
import { exportJWK, generateKeyPair } from "jose";

export interface EdgeSecrets {
  ADMIN_SECRET: string;
  AGENT_ID_KEY: string;
  EDGE_SIGNING_JWK: string;
}

function randomB64url(bytes: number): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export async function makeEdgeSecrets(): Promise<EdgeSecrets> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return {
    ADMIN_SECRET: randomB64url(32),
    AGENT_ID_KEY: randomB64url(32),
    EDGE_SIGNING_JWK: JSON.stringify(await exportJWK(privateKey)),
  };
}
