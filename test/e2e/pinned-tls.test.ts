/**
 * The daemon trusts only its pinned CA / SPKI set and the pinned edge key: a server with a
 * certificate from another CA is refused even when the OS (NODE_EXTRA_CA_CERTS) trusts it.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { type CertifiedKey, issueServerCert, makeCa } from "../../dev/certs.ts";
import { encodeFrame, signEdgeProof } from "../../protocol/index.ts";
import { useSystem } from "../helpers/e2e.ts";
import { type FakeEdge, startFakeEdge, trustedCa } from "../helpers/fake-edge.ts";
import type { DeviceConfig } from "../helpers/system.ts";

/** A server posing as the edge, signing its challenge with a key of its own. */
function fakeEdge(cert: CertifiedKey): Promise<FakeEdge> {
  return startFakeEdge(cert, async ({ ws, impId, cnonce }) => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const proof = await signEdgeProof(privateKey, "EdDSA", { impId, nonce: "n".repeat(43), cnonce });
    ws.send(encodeFrame({ t: "challenge", nonce: "n".repeat(43), proof }));
  });
}

describe("pinned TLS and the pinned edge key", () => {
  const e2e = useSystem();
  let rogueCa: CertifiedKey;
  let rogueCaFile: string;
  beforeAll(async () => {
    rogueCa = await makeCa("Rogue but OS-trusted CA");
    rogueCaFile = join(e2e.system.dir, "rogue-ca.pem");
    await writeFile(rogueCaFile, rogueCa.certPem);
  });

  /** A fake edge for the test, and a device config (of a real imp) pointed at it. */
  async function deviceFor(cert: CertifiedKey, edit: (c: DeviceConfig) => void = () => {}) {
    const edge = await fakeEdge(cert);
    e2e.defer(() => edge.close());
    const imp = await e2e.imp("pin", (c) => {
      c.edgeUrl = edge.url;
      edit(c);
    });
    return { edge, config: imp.config };
  }

  it("refuses a server whose certificate comes from another CA, even one in NODE_EXTRA_CA_CERTS", async () => {
    const { edge, config } = await deviceFor(await issueServerCert(rogueCa, ["localhost", "127.0.0.1"]));
    const daemon = e2e.daemon(config, [], { NODE_EXTRA_CA_CERTS: rogueCaFile });
    const line = await daemon.waitFor((l) => l.msg === "link error", 10_000);
    expect(String(line.code ?? line.error)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
    await daemon.waitFor((l) => l.msg === "reconnecting");
    expect(edge.connections).toBe(0);
    expect(daemon.count("ready")).toBe(0);
  });

  it("refuses a certificate from a pinned CA when no certificate in its chain matches an SPKI pin", async () => {
    // The rogue CA is added to the trust anchors, but the pins still name only the real CAs.
    const { edge, config } = await deviceFor(await issueServerCert(rogueCa, ["localhost"]), (c) => {
      (c.tls as { ca: string[] }).ca.push(rogueCa.certPem);
    });
    const daemon = e2e.daemon(config);
    const line = await daemon.waitFor((l) => l.msg === "link error", 10_000);
    expect(String(line.error)).toMatch(/pinned SPKI/);
    expect(edge.connections).toBe(0);
  });

  it("refuses a server with a valid pinned certificate that cannot sign with the pinned edge key", async () => {
    // A stolen certificate (here: one from the real development CA) is not enough.
    const { ca } = await trustedCa(e2e.system.pki.dir);
    const { edge, config } = await deviceFor(await issueServerCert(ca, ["localhost"]));
    const daemon = e2e.daemon(config);
    await daemon.waitFor((l) => l.msg === "edge failed the pinned-key check", 10_000);
    expect(edge.connections).toBeGreaterThan(0);
    // The device revealed nothing: no hello, no proof of its key.
    expect(edge.received).toEqual([]);
    expect(daemon.count("ready")).toBe(0);
  });

  it("connects to the real edge through the same pins", async () => {
    const imp = await e2e.imp("pin");
    await e2e.daemon(imp).waitReady();
  });
});
