/**
 * The edge's verifiers of DPoP proofs and RFC 9421 signatures, run in the Workers runtime
 * (workerd): the WebCrypto algorithms, jose and http-message-signatures all work there,
 * and none of it leans on Node's Buffer (the deployed worker has no nodejs_compat).
 */
import { generateKeyPair } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDpopProof, dpopThumbprint } from "../../caller/dpop.ts";
import { signRequest } from "../../caller/http-signature.ts";
import { type CallerKey, callerKeyFromPair } from "../../caller/key.ts";
import { DpopError, verifyDpopProof } from "../../edge/auth/dpop.ts";
import { HttpSignatureError, verifyHttpSignature } from "../../edge/auth/http-signature.ts";

const URL_ = "https://edge.example/agent/agt_x/hooks/build?ref=main";
const TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjcmVkIn0.c2ln";

let ed: CallerKey;
let ec: CallerKey;

// The test harness has nodejs_compat; the worker does not. Hide Buffer while the verifiers run.
const buffer = (globalThis as { Buffer?: unknown }).Buffer;
beforeAll(async () => {
  ed = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
  ec = await callerKeyFromPair(await generateKeyPair("ES256"));
  (globalThis as { Buffer?: unknown }).Buffer = undefined;
});
afterEach(() => {
  expect((globalThis as { Buffer?: unknown }).Buffer).toBeUndefined();
});
afterAll(() => {
  (globalThis as { Buffer?: unknown }).Buffer = buffer;
});

describe("DPoP in workerd", () => {
  for (const name of ["Ed25519", "P-256"]) {
    it(`verifies a ${name} proof bound to its token, and refuses it for another key or method`, async () => {
      const key = name === "Ed25519" ? ed : ec;
      const jkt = await dpopThumbprint(key);
      const proof = await createDpopProof(key, { method: "POST", url: URL_, accessToken: TOKEN });
      const verified = await verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: TOKEN, jkt } });
      expect(verified.jkt).toBe(jkt);
      const otherJkt = await dpopThumbprint(key === ed ? ec : ed);
      await expect(verifyDpopProof(proof, { method: "POST", url: URL_, token: { value: TOKEN, jkt: otherJkt } })).rejects.toMatchObject({
        code: "ERR_DPOP_KEY_MISMATCH",
      });
      await expect(verifyDpopProof(proof, { method: "GET", url: URL_, token: { value: TOKEN, jkt } })).rejects.toBeInstanceOf(DpopError);
    });
  }
});

describe("RFC 9421 signatures in workerd", () => {
  for (const name of ["Ed25519", "P-256"]) {
    it(`verifies a ${name} signed request with its body, and refuses the body changed`, async () => {
      const key = name === "Ed25519" ? ed : ec;
      const body = '{"ref":"main"}';
      const signed = await signRequest(key, { method: "POST", url: URL_, body }, { keyId: "cred_build" });
      const request = new Request(URL_, { method: "POST", headers: signed, body });
      const received = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: new Uint8Array(await request.arrayBuffer()),
      };
      const credential = { id: "cred_build", publicJwk: key.publicJwk };
      await expect(verifyHttpSignature(received, credential)).resolves.toMatchObject({ keyid: "cred_build" });
      const tampered = { ...received, body: new TextEncoder().encode('{"ref":"evil"}') };
      await expect(verifyHttpSignature(tampered, credential)).rejects.toMatchObject({ code: "ERR_SIG_DIGEST" });
      const decoy = new Headers(received.headers);
      decoy.set("signature", `${signed.signature}, decoy=:AAAA:`);
      await expect(verifyHttpSignature({ ...received, headers: decoy }, credential)).rejects.toBeInstanceOf(HttpSignatureError);
    });
  }
});
