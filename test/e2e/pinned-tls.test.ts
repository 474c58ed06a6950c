/**
 * The daemon trusts only its pinned CA / SPKI set and the pinned edge key: a server with a
 * certificate from another CA is refused even when the OS (NODE_EXTRA_CA_CERTS) trusts it.
 */

import { readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import { join } from "node:path";
import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { type CertifiedKey, issueServerCert, makeCa } from "../../dev/certs.ts";
import { encodeFrame, signEdgeProof } from "../../protocol/index.ts";
import { createImp, type System, startDaemon, startSystem } from "../helpers/system.ts";

interface FakeEdge {
  url: string;
  upgrades: number;
  frames: number;
  close(): Promise<void>;
}

/** A TLS + websocket server posing as the edge, signing its challenge with a key of its own. */
async function fakeEdge(cert: CertifiedKey): Promise<FakeEdge> {
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem });
  const wss = new WebSocketServer({ server });
  const state = { upgrades: 0, frames: 0 };
  wss.on("connection", async (ws, req) => {
    state.upgrades++;
    ws.on("message", () => state.frames++);
    const cnonce = new URL(req.url!, "https://x").searchParams.get("cnonce")!;
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const impId = new URL(req.url!, "https://x").pathname.split("/")[2]!;
    const proof = await signEdgeProof(privateKey, "EdDSA", { impId, nonce: "n".repeat(43), cnonce });
    ws.send(encodeFrame({ t: "challenge", nonce: "n".repeat(43), proof }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `https://localhost:${(server.address() as { port: number }).port}`,
    get upgrades() {
      return state.upgrades;
    },
    get frames() {
      return state.frames;
    },
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function configFor(
  system: System,
  edgeUrl: string,
  edit: (c: Record<string, unknown>) => void = () => {},
): Promise<{ path: string; config: Record<string, unknown> }> {
  const imp = await createImp(system, "pin");
  const config = JSON.parse(await readFile(imp.config, "utf8")) as Record<string, unknown>;
  config.edgeUrl = edgeUrl;
  config.reconnect = { baseMs: 200, maxMs: 500 };
  edit(config);
  const path = join(system.dir, `pinned-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(config));
  return { path, config };
}

describe("pinned TLS and the pinned edge key", () => {
  let system: System;
  let rogueCa: CertifiedKey;
  let rogueCaFile: string;
  beforeAll(async () => {
    system = await startSystem();
    rogueCa = await makeCa("Rogue but OS-trusted CA");
    rogueCaFile = join(system.dir, "rogue-ca.pem");
    await writeFile(rogueCaFile, rogueCa.certPem);
  });
  afterAll(async () => {
    await system?.stop();
  });

  it("refuses a server whose certificate comes from another CA, even one in NODE_EXTRA_CA_CERTS", async () => {
    const rogue = await fakeEdge(await issueServerCert(rogueCa, ["localhost", "127.0.0.1"]));
    const { path } = await configFor(system, rogue.url);
    const daemon = startDaemon(path, [], { NODE_EXTRA_CA_CERTS: rogueCaFile });
    try {
      const line = await daemon.waitFor((l) => l.msg === "link error", 10_000);
      expect(String(line.code ?? line.error)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
      await daemon.waitFor((l) => l.msg === "reconnecting");
      expect(rogue.upgrades).toBe(0);
      expect(daemon.count("ready")).toBe(0);
    } finally {
      await daemon.stop();
      await rogue.close();
    }
  });

  it("refuses a certificate from a pinned CA when no certificate in its chain matches an SPKI pin", async () => {
    // The rogue CA is added to the trust anchors, but the pins still name only the real CAs.
    const rogue = await fakeEdge(await issueServerCert(rogueCa, ["localhost"]));
    const { path } = await configFor(system, rogue.url, (c) => {
      (c.tls as { ca: string[] }).ca.push(rogueCa.certPem);
    });
    const daemon = startDaemon(path);
    try {
      const line = await daemon.waitFor((l) => l.msg === "link error", 10_000);
      expect(String(line.error)).toMatch(/pinned SPKI/);
      expect(rogue.upgrades).toBe(0);
    } finally {
      await daemon.stop();
      await rogue.close();
    }
  });

  it("refuses a server with a valid pinned certificate that cannot sign with the pinned edge key", async () => {
    // A stolen certificate (here: one from the real development CA) is not enough.
    const ca = await caFromPem(system.pki.caPem, await readFile(join(system.pki.dir, "ca.key"), "utf8"));
    const impostor = await fakeEdge(await issueServerCert(ca, ["localhost"]));
    const { path } = await configFor(system, impostor.url);
    const daemon = startDaemon(path);
    try {
      await daemon.waitFor((l) => l.msg === "edge failed the pinned-key check", 10_000);
      expect(impostor.upgrades).toBeGreaterThan(0);
      // The device revealed nothing: no hello, no proof of its key.
      expect(impostor.frames).toBe(0);
      expect(daemon.count("ready")).toBe(0);
    } finally {
      await daemon.stop();
      await impostor.close();
    }
  });

  it("connects to the real edge through the same pins", async () => {
    const { path } = await configFor(system, system.edge.origin);
    const daemon = startDaemon(path);
    try {
      await daemon.waitReady();
    } finally {
      await daemon.stop();
    }
  });
});

async function caFromPem(certPem: string, keyPem: string): Promise<CertifiedKey> {
  const x509 = await import("@peculiar/x509");
  const { webcrypto } = await import("node:crypto");
  const cert = new x509.X509Certificate(certPem);
  const der = x509.PemConverter.decodeFirst(keyPem);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const publicKey = await cert.publicKey.export(webcrypto as unknown as Parameters<typeof cert.publicKey.export>[0]);
  return { cert, certPem, keyPem, keys: { privateKey, publicKey } as unknown as CertifiedKey["keys"] };
}
