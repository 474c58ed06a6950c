/**
 * Sealed traffic in the Workers runtime: an imp whose test device holds end-to-end keys
 * (an encryption key, its statement signed by the device key the edge knows, the callers it
 * accepts, the owners it seals events to), opens sealed requests and messages as the daemon
 * does, and records every frame that crosses its socket, both ways, as bytes.
 */
import { exportJWK, type JWK } from "jose";
import { decodeFrame, encodeFrame, type Frame, type MessageOf } from "../../protocol/index.ts";
import {
  type DecodedRequest,
  fingerprint,
  generateEncryptionKey,
  generateOwnerKey,
  type InnerResponse,
  importOpeningKey,
  isSealedError,
  MESSAGE_WINDOW,
  MemoryReplayGuard,
  type OpenedMessage,
  type OpeningKey,
  openMessage,
  openRequest,
  REQUEST_WINDOW,
  SealedCaller,
  SUITE,
  sealEvent,
  signStatement,
} from "../../protocol/sealed/index.ts";
import { fixtureSenders } from "../helpers/sealed-fixture.ts";
import { admin, callerFetch, createImp, TestDevice, type TestImp } from "./helpers.ts";

export interface SealedImp {
  imp: TestImp;
  device: TestDevice;
  /** The device key the edge holds, as a private JWK: the identity that signs statements and events. */
  identity: JWK;
  pin: string;
  statement: string;
  opening: OpeningKey;
  /** An owner's key pair: events are sealed to its public half. */
  owner: { privateJwk: JWK; publicJwk: JWK };
  /** Every binary frame the device received from the edge and sent to it. */
  frames: Uint8Array[];
  /** Every sealed request frame the edge relayed to the device, opened or not. */
  sreqs: MessageOf<"sreq">[];
  /** Inner requests and messages that reached the device's handler. */
  handled: DecodedRequest[];
  messages: OpenedMessage["message"][];
  /** Holds acknowledgements back (the message stays queued at the edge) until the returned function is called. */
  holdMessages(): () => void;
  /** A caller with a credential of the imp, its sender key accepted by the device. */
  caller(): Promise<SealedCaller>;
}

export async function setE2e(imp: TestImp, mode: "required" | "optional" | "off"): Promise<Response> {
  return admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ e2e: mode }) });
}

/** A new imp set to `mode`, its device connected, its statement sent and served; it answers sealed requests with `reply`. */
export async function sealedImp(
  mode: "required" | "optional" | "off",
  reply: (req: DecodedRequest) => InnerResponse = (req) => ({ status: 200, headers: [["content-type", "text/plain"]], body: req.body }),
  options: { sendKey?: boolean } = {},
): Promise<SealedImp> {
  const imp = await createImp("sealed");
  if ((await setE2e(imp, mode)).status !== 200) throw new Error("set e2e");
  const identity = await exportJWK(imp.deviceKey);
  const pin = await fingerprint(identity);
  const { keyId, privateJwk } = await generateEncryptionKey();
  const now = Date.now();
  const statement = await signStatement(identity, {
    impId: imp.impId,
    keyId,
    encryptionKey: privateJwk.x,
    suite: SUITE,
    created: now,
    notAfter: now + 24 * 60 * 60_000,
    sequence: 1,
  });
  const opening = await importOpeningKey(keyId, privateJwk);
  const device = await TestDevice.connect(imp);
  const frames: Uint8Array[] = [];
  const sreqs: MessageOf<"sreq">[] = [];
  device.ws.addEventListener("message", (e) => {
    if (typeof e.data === "string") return;
    frames.push(new Uint8Array(e.data as ArrayBuffer));
    const { msg } = decodeFrame(e.data as ArrayBuffer);
    if (msg.t === "sreq") sreqs.push(msg);
  });
  const send = device.send.bind(device);
  device.send = (data) => {
    if (typeof data !== "string") frames.push(new Uint8Array(data));
    send(data);
  };
  const { senders } = await fixtureSenders();
  const handled: DecodedRequest[] = [];
  const messages: OpenedMessage["message"][] = [];
  const requestMemory = new MemoryReplayGuard(REQUEST_WINDOW);
  const messageMemory = new MemoryReplayGuard(MESSAGE_WINDOW);
  let held: Promise<void> = Promise.resolve();
  // Sealed requests, answered as the daemon does: the sealed reply, or a refusal in the clear.
  void (async () => {
    for (;;) {
      let frame: { msg: MessageOf<"sreq">; payload: Uint8Array };
      try {
        frame = await device.nextOf("sreq", 60_000);
      } catch {
        return;
      }
      const answer = await openRequest([opening], frame.payload, { replay: requestMemory, senders }).then(
        async (opened) => {
          handled.push(opened.inner);
          return { status: 200, type: "application/impgate-sealed-reply", body: await opened.sealReply(reply(opened.inner)) };
        },
        (err: unknown) => {
          if (!isSealedError(err)) throw err;
          return { status: 400, type: "application/json", body: new TextEncoder().encode(JSON.stringify({ error: { code: err.code } })) };
        },
      );
      device.send(
        encodeFrame({ t: "res", id: frame.msg.id, status: answer.status, headers: [["content-type", answer.type]] }, answer.body),
      );
    }
  })();
  // Sealed messages: opened, then acknowledged.
  void (async () => {
    for (;;) {
      let frame: { msg: MessageOf<"msg">; payload: Uint8Array };
      try {
        frame = await device.nextOf("msg", 60_000);
      } catch {
        return;
      }
      const opened = await openMessage([opening], frame.payload, { replay: messageMemory, senders }).catch(() => null);
      if (opened) messages.push(opened.message);
      await held;
      device.ack(frame.msg.id);
    }
  })();
  if (options.sendKey !== false) device.send(encodeFrame({ t: "key", statement }));
  const owner = await generateOwnerKey();
  const sealed: SealedImp = {
    imp,
    device,
    identity,
    pin,
    statement,
    opening,
    owner,
    frames,
    sreqs,
    handled,
    messages,
    holdMessages() {
      let release = () => {};
      held = new Promise((r) => {
        release = r;
      });
      return release;
    },
    async caller() {
      const caller = new SealedCaller({ impId: imp.impId, pin }, (await fixtureSenders()).sender);
      const res = await callerFetch(imp, "/_sealed/key");
      if (res.status !== 200) throw new Error(`key: ${res.status} ${await res.text()}`);
      await caller.trust(await res.text());
      return caller;
    },
  };
  return sealed;
}

/** The device seals an event to the owner and sends it; resolves with the edge's answer frame. */
export async function sealedEvent(s: SealedImp, name: string, data: string): Promise<Frame> {
  const bytes = await sealEvent(
    { name, contentType: "text/plain", data: new TextEncoder().encode(data) },
    { impId: s.imp.impId, identityKey: s.identity, recipients: [s.owner.publicJwk] },
  );
  return sendEvent(s.device, "sealed", bytes, "application/jose+json");
}

export function sendEvent(device: TestDevice, name: string, data: Uint8Array, contentType: string): Promise<Frame> {
  return device.event(name, data, crypto.randomUUID(), contentType);
}
