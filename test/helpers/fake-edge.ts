/**
 * A server posing as the edge, for daemon tests that need no real edge: TLS with a
 * certificate of the caller's choosing (one the daemon's pins accept, to play a thief of
 * the edge's certificate) and a websocket whose script the test writes. It records every
 * frame the device sends and how each socket was closed.
 */
import { webcrypto } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import { join } from "node:path";
import { type CryptoKey, exportJWK, generateKeyPair } from "jose";
import { type WebSocket, WebSocketServer } from "ws";
import { type CertifiedKey, issueServerCert } from "../../dev/certs.ts";
import { ensureDevPki } from "../../dev/pki.ts";
import { decodeFrame, type Message } from "../../protocol/index.ts";

export interface Connection {
  ws: WebSocket;
  impId: string;
  cnonce: string;
}

export interface FakeEdge {
  url: string;
  /** Frames the device sent, decoded (text frames as `{ t: "text" }`). */
  received: Message[];
  /** Close codes of the sockets the device closed or that closed. */
  closes: number[];
  connections: number;
  close(): Promise<void>;
}

export async function startFakeEdge(cert: CertifiedKey, onConnection: (c: Connection) => void | Promise<void>): Promise<FakeEdge> {
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem });
  const wss = new WebSocketServer({ server });
  const edge = { received: [] as Message[], closes: [] as number[], connections: 0 };
  wss.on("connection", (ws, req) => {
    edge.connections++;
    ws.on("message", (data, isBinary) => {
      if (!isBinary) edge.received.push({ t: "error", code: "text", message: data.toString() });
      else edge.received.push(decodeFrame(data as Buffer).msg);
    });
    ws.on("close", (code) => edge.closes.push(code));
    const url = new URL(req.url ?? "/", "https://x");
    void onConnection({ ws, impId: decodeURIComponent(url.pathname.split("/")[2] ?? ""), cnonce: url.searchParams.get("cnonce") ?? "" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `https://localhost:${(server.address() as { port: number }).port}`,
    received: edge.received,
    closes: edge.closes,
    get connections() {
      return edge.connections;
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

/** The development CA of `dir`, with its private key: what a thief of a trusted CA (or its certificate) holds. */
export async function trustedCa(dir: string): Promise<{ ca: CertifiedKey; caPem: string; pins: string[] }> {
  const pki = await ensureDevPki(dir);
  const x509 = await import("@peculiar/x509");
  const keyPem = await readFile(join(dir, "ca.key"), "utf8");
  const cert = new x509.X509Certificate(pki.caPem);
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(keyPem),
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign"],
  );
  const publicKey = await cert.publicKey.export(webcrypto as unknown as Parameters<typeof cert.publicKey.export>[0]);
  const ca = { cert, certPem: pki.caPem, keyPem, keys: { privateKey, publicKey } as unknown as CertifiedKey["keys"] };
  return { ca, caPem: pki.caPem, pins: pki.pins };
}

/** A certificate for localhost from the device's own trusted CA. */
export async function stolenCertificate(dir: string): Promise<{ cert: CertifiedKey; caPem: string; pins: string[] }> {
  const { ca, caPem, pins } = await trustedCa(dir);
  return { cert: await issueServerCert(ca, ["localhost", "127.0.0.1"]), caPem, pins };
}

/**
 * A device config for an edge at `edgeUrl`, trusting `caPem`/`pins`, with fresh device and
 * edge keys (the edge's private key is returned: a test that holds it plays the real edge).
 */
export async function deviceConfig(
  dir: string,
  edgeUrl: string,
  trust: { caPem: string; pins: string[] },
  extra: Record<string, unknown> = {},
): Promise<{ path: string; impId: string; edgePrivateKey: CryptoKey }> {
  await mkdir(dir, { recursive: true });
  const device = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const edge = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const impId = `imp_${Math.random().toString(36).slice(2)}`;
  const path = join(dir, `device-${impId}.json`);
  const config = {
    edgeUrl,
    impId,
    deviceKey: await exportJWK(device.privateKey),
    edgeKeys: [await exportJWK(edge.publicKey)],
    tls: { ca: [trust.caPem], pins: trust.pins },
    reconnect: { baseMs: 100, maxMs: 300 },
    ...extra,
  };
  await writeFile(path, JSON.stringify(config), { mode: 0o600 });
  return { path, impId, edgePrivateKey: edge.privateKey };
}
