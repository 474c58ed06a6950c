/**
 * The daemon's end of sealing (device/sealed-traffic.ts), with its real files: what reaches a
 * handler from a sealed request (the same as from a plaintext one), the sealed reply, and
 * messages: opened before the handler, refused in the clear, and a message whose handler was
 * cut short accepted again only under the edge id it first came with.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../device/config.ts";
import type { AgentMessage } from "../../device/inbox.ts";
import { silentLogger } from "../../device/log.ts";
import type { AgentRequest } from "../../device/requests.ts";
import { answerSealed, SealedTraffic } from "../../device/sealed-traffic.ts";
import { decodeFrame } from "../../protocol/index.ts";
import { SEALED_MEDIA_TYPES, SealedCaller } from "../../protocol/sealed/index.ts";
import { callerSender } from "../helpers/sealed-fixture.ts";

const text = (s: string) => new TextEncoder().encode(s);

describe("the daemon's sealed traffic", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-sealed-traffic-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function device(allowPlaintext = false) {
    const caller = await callerSender();
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const config = parseConfig({
      edgeUrl: "https://edge.test",
      impId: "imp_t",
      deviceKey: await exportJWK(privateKey),
      edgeKeys: [await exportJWK(publicKey)],
      tls: { ca: ["-----BEGIN CERTIFICATE-----"] },
      stateDir: dir,
      e2e: { senders: [caller.publicJwk], allowPlaintext },
    });
    const open = async () => {
      const sealed = await SealedTraffic.open(config, silentLogger);
      if (!sealed) throw new Error("no e2e section");
      return sealed;
    };
    const sealed = await open();
    const { fingerprint } = await import("../../protocol/sealed/index.ts");
    const sealer = new SealedCaller({ impId: "imp_t", pin: await fingerprint(config.deviceKey) }, caller.sender);
    await sealer.trust(await sealed.statement());
    return { sealed, sealer, open };
  }

  const sreq = { t: "sreq" as const, id: "r1", deadline: Date.now() + 10_000, client: "198.51.100.7" };

  it("hands the handler what a plaintext request would bring, with who sealed it, and seals the answer", async () => {
    const { sealed, sealer } = await device();
    const got: AgentRequest[] = [];
    const request = await sealer.seal({
      method: "POST",
      path: "/a/./b/%7Ex",
      headers: [
        ["x-keep", "1"],
        ["impgate-client", "10.0.0.1"],
        ["x-forwarded-for", "10.0.0.2"],
        ["authorization", "Bearer inner"],
      ],
      body: text("hi"),
    });
    const frame = decodeFrame(
      await answerSealed(
        sealed,
        sreq,
        request.bytes,
        (req) => {
          got.push(req);
          return { status: 202, headers: { "x-out": "y" }, body: "done" };
        },
        silentLogger,
      ),
    );
    expect(frame.msg).toMatchObject({ t: "res", id: "r1", status: 200, headers: [["content-type", SEALED_MEDIA_TYPES.reply]] });
    const reply = await request.openReply(frame.payload);
    expect(reply).toEqual({ status: 202, headers: [["x-out", "y"]], body: text("done") });
    expect(got[0]?.path).toBe("/a/b/~x");
    expect(got[0]?.headers).toEqual([
      ["x-keep", "1"],
      ["impgate-client", "198.51.100.7"],
    ]);
    expect(got[0]?.sender).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses impgate's own paths inside the sealed reply, and an unopened request in the clear", async () => {
    const { sealed, sealer } = await device();
    const reserved = await sealer.seal({ method: "GET", path: "/_state" });
    const handled: unknown[] = [];
    const handler = (r: AgentRequest) => {
      handled.push(r);
      return { status: 200 };
    };
    const frame = decodeFrame(await answerSealed(sealed, sreq, reserved.bytes, handler, silentLogger));
    expect((await reserved.openReply(frame.payload)).status).toBe(404);
    const none = decodeFrame(await answerSealed(null, sreq, reserved.bytes, handler, silentLogger));
    expect(none.msg).toMatchObject({ status: 403 });
    expect(JSON.parse(new TextDecoder().decode(none.payload))).toMatchObject({ error: { code: "e2e_off" } });
    expect(handled).toEqual([]);
  });

  it("opens sealed messages before the handler and refuses plaintext ones unless allowed", async () => {
    const { sealed, sealer } = await device();
    const got: AgentMessage[] = [];
    const handler = sealed.messageHandler(async (m) => {
      got.push(m);
    });
    const base = { createdAt: 0, expiresAt: 0, redelivered: false };
    const message = await sealer.sealMessage({ name: "door", contentType: "text/plain", data: text("open") });
    await handler({ ...base, id: "m1", name: "sealed", contentType: SEALED_MEDIA_TYPES.message, data: message.bytes });
    expect(got.map((m) => [m.name, m.contentType, new TextDecoder().decode(m.data)])).toEqual([["door", "text/plain", "open"]]);
    await expect(handler({ ...base, id: "m2", name: "door", contentType: "text/plain", data: text("open") })).rejects.toThrow(/plaintext/);
    const lenient = (await device(true)).sealed.messageHandler(async (m) => {
      got.push(m);
    });
    await lenient({ ...base, id: "m3", name: "door", contentType: null, data: text("plain") });
    expect(got).toHaveLength(2);
  });

  it("takes a message cut short again only under its first edge id, across a restart", async () => {
    const { sealer, open } = await device();
    const handled: string[] = [];
    const base = { createdAt: 0, expiresAt: 0, name: "sealed", contentType: SEALED_MEDIA_TYPES.message };
    const a = await sealer.sealMessage({ name: "a", data: text("a") });
    const b = await sealer.sealMessage({ name: "b", data: text("b") });
    const first = (await open()).messageHandler(async (m) => {
      handled.push(m.name);
    });
    await first({ ...base, id: "m1", data: a.bytes, redelivered: false });
    await first({ ...base, id: "m2", data: b.bytes, redelivered: false });
    // The daemon died while m2's handler ran: a new one gets m2 again, flagged redelivered.
    const restarted = (await open()).messageHandler(async (m) => {
      handled.push(m.name);
    });
    await restarted({ ...base, id: "m2", data: b.bytes, redelivered: true });
    // The same ciphertext under another id, or another message posing as the interrupted one: replays.
    await expect(restarted({ ...base, id: "m9", data: b.bytes, redelivered: false })).rejects.toMatchObject({
      code: "ERR_SEALED_REPLAYED",
    });
    await expect(restarted({ ...base, id: "m2", data: a.bytes, redelivered: true })).rejects.toMatchObject({ code: "ERR_SEALED_REPLAYED" });
    expect(handled).toEqual(["a", "b", "b"]);
  });
});
