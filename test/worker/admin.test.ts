import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { admin, createImp, edgeFetch } from "./helpers.ts";

describe("admin API", () => {
  it("refuses requests without the admin secret, or with a wrong one", async () => {
    const { publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const body = JSON.stringify({ devicePublicJwk: await exportJWK(publicKey) });
    for (const authorization of [undefined, "Bearer wrong", "Basic abc", `Bearer ${"x".repeat(4000)}`]) {
      const res = await edgeFetch("/admin/imps", { method: "POST", body, headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain("test-admin-secret");
    }
  });

  it("creates an imp and keeps only the device's public key", async () => {
    const imp = await createImp("garage");
    const res = await admin(`/imps/${imp.impId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ impId: imp.impId, label: "garage", online: false });
  });

  it("refuses a private key, an unsupported key and malformed JSON with a clear 400", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const cases = [
      JSON.stringify({ devicePublicJwk: await exportJWK(privateKey) }),
      JSON.stringify({ devicePublicJwk: { kty: "RSA", n: "x", e: "AQAB" } }),
      "{not json",
      JSON.stringify({ label: "", devicePublicJwk: null }),
    ];
    for (const body of cases) {
      const res = await admin("/imps", { method: "POST", body });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { code: string; message: string } }>()).error.code).toBe("bad_request");
    }
  });

  it("answers 404 for an imp id it never minted", async () => {
    expect((await admin("/imps/nope")).status).toBe(404);
  });

  it("publishes the edge's public key for device pinning, without the private part", async () => {
    const res = await admin("/edge-key");
    const { keys } = await res.json<{ keys: Record<string, string>[] }>();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(keys[0]!.d).toBeUndefined();
  });
});
