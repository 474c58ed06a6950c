/**
 * A server that passes the daemon's TLS pins (a stolen edge certificate, a mis-issued
 * one) but does not hold the edge key must get nothing from the device: no request or
 * message reaches the local service, no buffered event leaves the device, and the socket
 * is closed with the protocol-error code. The real daemon, as a process, against a fake
 * edge that skips or fakes the challenge.
 */
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { CloseCode, encodeFrame } from "../../protocol/index.ts";
import { startDaemon } from "../helpers/daemon.ts";
import { eventually } from "../helpers/eventually.ts";
import { type Connection, deviceConfig, type FakeEdge, startFakeEdge, stolenCertificate } from "../helpers/fake-edge.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What an impostor would send to make the device act: a request, a message, and (to flush events) ready. */
function attackFrames(impId: string): Uint8Array[] {
  const now = Date.now();
  return [
    encodeFrame({ t: "ready", impId }),
    encodeFrame({ t: "req", id: "r1", method: "POST", path: "/door/open", query: "", headers: [], deadline: now + 10_000 }),
    encodeFrame(
      { t: "msg", id: "m1", name: "open-door", contentType: "text/plain", createdAt: now, expiresAt: now + 60_000, expiresIn: 60_000 },
      new TextEncoder().encode("open"),
    ),
    encodeFrame({ t: "ack", id: "whatever" }),
  ];
}

function postEvent(port: number, name: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: `/events/${name}`,
      headers: { "content-type": "text/plain" },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("a server with a trusted certificate but without the edge key", () => {
  let dir: string;
  let service: LocalService;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-impostor-"));
    service = await startLocalService();
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Lets the daemon connect to a server holding a stolen certificate but not the edge key,
   * waits until an event is buffered on the device (a daemon fooled into "ready" would flush
   * it), then runs `script` on that first connection (later ones get nothing), and checks that
   * nothing leaked and the socket was closed with one of `codes`. Returns the fake edge.
   */
  async function attack(script: (c: Connection) => void, codes: number[] = [CloseCode.protocolError]): Promise<FakeEdge> {
    service.received.length = 0;
    const stolen = await stolenCertificate(join(dir, "pki"));
    let go = () => {};
    const release = new Promise<void>((r) => {
      go = r;
    });
    let first = true;
    const edge = await startFakeEdge(stolen.cert, async (c) => {
      if (!first) return;
      first = false;
      await release;
      script(c);
    });
    const { path } = await deviceConfig(dir, edge.url, stolen);
    const daemon = startDaemon(path, ["--forward", service.url, "--events-port", "0"]);
    onTestFinished(async () => {
      go();
      await daemon.stop();
      await edge.close();
    });
    const line = await daemon.waitFor((l) => l.msg === "events endpoint listening");
    expect(await postEvent(Number(line.port), "secret", "buffered while offline")).toBe(202);
    go();
    // Until the device closed the socket (a fooled one never does), and a little longer.
    await eventually(() => edge.closes.length > 0, { timeout: 5_000, what: "the device closing the impostor's socket" });
    await sleep(500);
    expect(service.received).toEqual([]);
    expect(edge.received.filter((m) => m.t === "event")).toEqual([]);
    expect(edge.received.filter((m) => m.t === "res" || m.t === "ack")).toEqual([]);
    expect(codes).toContain(edge.closes[0]);
    expect(daemon.lines.some((l) => typeof l.msg === "string" && /^impostor|^edge failed the pinned-key check/.test(l.msg))).toBe(true);
    expect(daemon.count("ready")).toBe(0);
    // An impostor is not a refusal: the daemon keeps trying to reach its real edge.
    expect(daemon.child.exitCode).toBeNull();
    return edge;
  }

  it("refuses `ready` sent first, and the request and message after it", async () => {
    await attack((c) => {
      for (const frame of attackFrames(c.impId)) c.ws.send(frame);
    });
  });

  it("refuses a request and a message sent with no handshake at all", async () => {
    await attack((c) => {
      for (const frame of attackFrames(c.impId).slice(1)) c.ws.send(frame);
    });
  });

  it("refuses frames sent right behind a challenge, while the device is still checking its proof", async () => {
    const edge = await attack(
      (c) => {
        // A proof the pinned key cannot verify, and the attack before the device could say so.
        c.ws.send(encodeFrame({ t: "challenge", nonce: "n".repeat(43), proof: "e30.e30.AAAA" }));
        for (const frame of attackFrames(c.impId)) c.ws.send(frame);
      },
      // 4000 when the frames behind the challenge arrive before the proof check ends, 4010 when after.
      [CloseCode.protocolError, CloseCode.badEdgeProof],
    );
    // It never proved its own key to the impostor either.
    expect(edge.received.filter((m) => m.t === "hello")).toEqual([]);
  });
});
