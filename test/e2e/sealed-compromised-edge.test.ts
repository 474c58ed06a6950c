/**
 * A compromised edge against a device that takes sealed traffic: the test plays the edge,
 * holding everything a real edge holds (its signing key, so the daemon's handshake passes;
 * the device's public key and key statement, so it can seal to the device; the callers'
 * public keys, from their credentials; keys of its own). It seals a request and a message
 * of its own, seals them again naming a real caller's key, and sends both in plaintext.
 * The real daemon refuses every one, and nothing reaches its local service.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base64url, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame, type Message, signEdgeProof } from "../../protocol/index.ts";
import {
  fingerprint,
  generateOwnerKey,
  SEALED_MEDIA_TYPES,
  type SenderKey,
  sealMessage,
  sealRequest,
  verifyStatement,
} from "../../protocol/sealed/index.ts";
import { startDaemon } from "../helpers/daemon.ts";
import { eventually } from "../helpers/eventually.ts";
import { type Connection, deviceConfig, startFakeEdge, stolenCertificate } from "../helpers/fake-edge.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { callerSender } from "../helpers/sealed-fixture.ts";

describe("a compromised edge", () => {
  let dir: string;
  let service: LocalService;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-sealed-edge-"));
    service = await startLocalService();
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("cannot make a sealed device act: its own sealed request and message, ones naming a real caller, and plaintext are refused", async () => {
    const trusted = await stolenCertificate(join(dir, "pki"));
    const caller = await callerSender();
    const owner = await generateOwnerKey();
    let connected: (c: Connection) => void = () => {};
    const connection = new Promise<Connection>((r) => {
      connected = r;
    });
    const edge = await startFakeEdge(trusted.cert, (c) => connected(c));
    const { path, impId, edgePrivateKey } = await deviceConfig(join(dir, "device"), edge.url, trusted, {
      e2e: { senders: [caller.publicJwk], recipients: [owner.publicJwk] },
    });
    const daemon = startDaemon(path, ["--forward", service.url]);
    try {
      const c = await connection;
      const frames: { msg: Message; payload: Uint8Array }[] = [];
      c.ws.on("message", (data, isBinary) => {
        if (isBinary) frames.push(decodeFrame(data as Buffer));
      });
      // The real edge's handshake: it holds the edge key.
      const nonce = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
      c.ws.send(
        encodeFrame({ t: "challenge", nonce, proof: await signEdgeProof(edgePrivateKey, "EdDSA", { impId, nonce, cnonce: c.cnonce }) }),
      );
      await eventually(() => frames.some((f) => f.msg.t === "hello"), { timeout: 10_000, what: "the device's hello" });
      c.ws.send(encodeFrame({ t: "ready", impId }));
      const key = await eventually(() => frames.find((f) => f.msg.t === "key")?.msg, { timeout: 10_000, what: "the key statement" });
      if (key.t !== "key") throw new Error("not a key frame");
      // The edge knows the device's public key, so it can check (and seal to) the statement as any caller would.
      const jwk = JSON.parse(Buffer.from(key.statement.split(".")[0] ?? "", "base64url").toString()).jwk as JWK;
      const sealing = await verifyStatement(await fingerprint(jwk), key.statement, { impId });

      // Its own key, and a sender that names the real caller (whose public key it has) but signs with its own.
      const own = (await callerSender()).sender;
      const posing: SenderKey = { id: caller.sender.id, raw: caller.sender.raw, sign: (data) => own.sign(data) };
      const now = Date.now();
      const requests = {
        own: await sealRequest(sealing, { method: "POST", path: "/door/open" }, { sender: own }),
        posing: await sealRequest(sealing, { method: "POST", path: "/door/open" }, { sender: posing }),
      };
      for (const [id, sealed] of Object.entries(requests)) {
        c.ws.send(encodeFrame({ t: "sreq", id, deadline: now + 10_000, client: "203.0.113.9" }, sealed.bytes));
      }
      c.ws.send(encodeFrame({ t: "req", id: "plain", method: "POST", path: "/door/open", query: "", headers: [], deadline: now + 10_000 }));
      const msg = (id: string, contentType: string, data: Uint8Array) =>
        encodeFrame({ t: "msg", id, name: "sealed", contentType, createdAt: now, expiresAt: now + 60_000, expiresIn: 60_000 }, data);
      const door = { name: "open-door", data: new TextEncoder().encode("open") };
      c.ws.send(msg("m-own", SEALED_MEDIA_TYPES.message, (await sealMessage(sealing, door, { sender: own })).bytes));
      c.ws.send(msg("m-posing", SEALED_MEDIA_TYPES.message, (await sealMessage(sealing, door, { sender: posing })).bytes));
      c.ws.send(msg("m-plain", "text/plain", door.data));

      const answer = async (id: string) => {
        const res = await eventually(() => frames.find((f) => f.msg.t === "res" && f.msg.id === id), {
          timeout: 10_000,
          what: `the answer to ${id}`,
        });
        if (res.msg.t !== "res") throw new Error("not a res");
        return [res.msg.status, (JSON.parse(new TextDecoder().decode(res.payload)) as { error: { code: string } }).error.code];
      };
      expect(await answer("own")).toEqual([403, "sealed_sender_refused"]);
      expect(await answer("posing")).toEqual([403, "sealed_sender_refused"]);
      expect(await answer("plain")).toEqual([403, "e2e_required"]);
      // Messages are refused and acknowledged (counted handled, so they are not sent again), never run.
      for (const id of ["m-own", "m-posing", "m-plain"]) {
        await eventually(() => frames.some((f) => f.msg.t === "ack" && f.msg.id === id), { timeout: 10_000, what: `the ack of ${id}` });
      }
      const refusals = daemon.lines.filter((l) => l.msg === "message handler failed; message dropped").map((l) => String(l.error));
      expect(refusals).toEqual([
        expect.stringContaining("not in this device's e2e.senders"),
        expect.stringContaining("signature does not verify"),
        expect.stringContaining("plaintext message refused"),
      ]);
      expect(service.received).toEqual([]);
    } finally {
      await daemon.stop();
      await edge.close();
    }
  });
});
