/**
 * Workers-runtime test helpers: the admin API, and a device that speaks the real wire
 * protocol over a real websocket to the worker (the daemon's protocol, in the runtime).
 */
import { env, exports } from "cloudflare:workers";
import { base64url, type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach } from "vitest";
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  importVerifyKey,
  type MessageOf,
  PROTOCOL_VERSION,
  signDeviceProof,
  UNRESTRICTED_SCOPE,
  verifyEdgeProof,
} from "../../protocol/index.ts";

export const ORIGIN = "https://edge.test";

/**
 * A request to the worker. Unless the test names a client address (CF-Connecting-IP, which
 * Cloudflare sets), each request comes from a fresh one, so per-client rate limits only bite
 * where a test means them to.
 */
export function edgeFetch(path: string, init?: RequestInit): Promise<Response> {
  const req = new Request(path.startsWith("http") ? path : `${ORIGIN}${path}`, init);
  if (!req.headers.has("cf-connecting-ip")) req.headers.set("cf-connecting-ip", randomClient());
  return exports.default.fetch(req);
}

/** An address in a /64 of its own: the edge counts an IPv6 client by its /64. */
export function randomClient(): string {
  const [a, b] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8:${a!.toString(16)}:${b!.toString(16)}::1`;
}

export function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${env.ADMIN_SECRET}`);
  if (init.body) headers.set("content-type", "application/json");
  return edgeFetch(`/admin${path}`, { ...init, headers });
}

export interface TestImp {
  impId: string;
  agentId: string;
  agentUrl: string;
  deviceKey: CryptoKey;
  edgeKeys: JWK[];
  /** A bearer token for this imp's agent URL, made on first use by callerFetch. */
  token?: string;
}

export async function createImp(label = "test"): Promise<TestImp> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const res = await admin("/imps", { method: "POST", body: JSON.stringify({ label, devicePublicJwk: await exportJWK(publicKey) }) });
  if (res.status !== 201) throw new Error(`create imp: ${res.status} ${await res.text()}`);
  const body = await res.json<{ impId: string; agentId: string; agentUrl: string; edgeKeys: JWK[] }>();
  return { ...body, deviceKey: privateKey };
}

/**
 * A caller key registered as a `jwt` credential of the imp; its id is the key's thumbprint.
 * Unless the test says otherwise it may do everything, with plain bearer tokens: tests of
 * scopes and DPoP say what they need.
 */
export async function addCallerKey(
  imp: TestImp,
  alg: "EdDSA" | "ES256" = "EdDSA",
  constraints: Record<string, unknown> = { scope: UNRESTRICTED_SCOPE, dpop: false },
): Promise<{ credId: string; key: CryptoKey; alg: string; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === "EdDSA" ? "Ed25519" : undefined, extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const res = await admin(`/imps/${imp.impId}/credentials`, {
    method: "POST",
    body: JSON.stringify({ kind: "jwt", publicJwk, ...constraints }),
  });
  if (res.status !== 201) throw new Error(`add credential: ${res.status} ${await res.text()}`);
  return { credId: await calculateJwkThumbprint(publicJwk), key: privateKey, alg, publicJwk };
}

export async function challengeNonce(imp: TestImp, init: RequestInit = {}): Promise<string> {
  const res = await edgeFetch(`${imp.agentUrl}/_auth/challenge`, { method: "POST", ...init });
  if (res.status !== 200) throw new Error(`challenge: ${res.status} ${await res.text()}`);
  return (await res.json<{ nonce: string }>()).nonce;
}

/** The caller's side of the challenge-response: a JWT over the nonce and the agent URL. */
export function assertion(
  cred: { credId: string; key: CryptoKey | Uint8Array; alg: string },
  claims: { nonce: string; audience: string; iat?: number; exp?: number; iss?: string },
): Promise<string> {
  const iat = claims.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ nonce: claims.nonce })
    .setProtectedHeader({ alg: cred.alg })
    .setIssuer(claims.iss ?? cred.credId)
    .setAudience(claims.audience)
    .setIssuedAt(iat)
    .setExpirationTime(claims.exp ?? iat + 30)
    .sign(cred.key);
}

export async function exchange(imp: TestImp, jwt: string, headers: Record<string, string> = {}): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/_auth/token`, {
    method: "POST",
    headers: { "content-type": "application/jwt", ...headers },
    body: jwt,
  });
}

/** A fresh bearer token for `imp`, through the real challenge-response. */
export async function bearerToken(imp: TestImp, cred?: { credId: string; key: CryptoKey | Uint8Array; alg: string }): Promise<string> {
  const caller = cred ?? (await addCallerKey(imp));
  const nonce = await challengeNonce(imp);
  const res = await exchange(imp, await assertion(caller, { nonce, audience: imp.agentUrl }));
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return (await res.json<{ access_token: string }>()).access_token;
}

/**
 * A caller's request to an agent URL path (`/_messages`, `/hello`…) with a bearer token.
 * Every test that acts as a caller goes through here, so credentials are added in one place.
 */
export async function callerFetch(imp: TestImp, path: string, init: RequestInit = {}): Promise<Response> {
  imp.token ??= await bearerToken(imp);
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${imp.token}`);
  return edgeFetch(path.startsWith("http") ? path : `${imp.agentUrl}${path}`, { ...init, headers });
}

/** Races a promise against a timeout so a broken path fails fast instead of hanging. */
export function within<T>(ms: number, promise: Promise<T>, what = "operation"): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)),
  ]);
}

type Waiter = { accept: (f: Frame) => boolean; resolve: (f: Frame) => void };

export class TestDevice {
  readonly ws: WebSocket;
  readonly cnonce: string;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Every agent request this socket received. */
  readonly requests: MessageOf<"req">[] = [];
  /** Every agent message this socket received, with its data. */
  readonly messages: { msg: MessageOf<"msg">; data: Uint8Array }[] = [];
  private readonly frames: Frame[] = [];
  private waiters: Waiter[] = [];

  constructor(ws: WebSocket, cnonce: string) {
    this.ws = ws;
    this.cnonce = cnonce;
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") return;
      const frame = decodeFrame(e.data as ArrayBuffer);
      if (frame.msg.t === "req") this.requests.push(frame.msg);
      if (frame.msg.t === "msg") this.messages.push({ msg: frame.msg, data: frame.payload });
      const i = this.waiters.findIndex((w) => w.accept(frame));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(frame);
      else this.frames.push(frame);
    });
    // Recent compatibility dates default to the standard "blob"; frames are decoded synchronously.
    ws.binaryType = "arraybuffer";
    ws.accept();
  }

  static async open(impId: string, cnonce = base64url.encode(crypto.getRandomValues(new Uint8Array(32)))): Promise<TestDevice> {
    const res = await edgeFetch(`/device/${impId}/connect?cnonce=${cnonce}`, { headers: { Upgrade: "websocket" } });
    if (!res.webSocket) throw new Error(`device connect: ${res.status} ${await res.text()}`);
    return new TestDevice(res.webSocket, cnonce);
  }

  /** Opens a socket and completes the handshake as the real daemon does (announcing `heartbeatMs`, if given). */
  static async connect(imp: TestImp, opts: { heartbeatMs?: number } = {}): Promise<TestDevice> {
    const device = await TestDevice.open(imp.impId);
    await device.handshake(imp, opts);
    return device;
  }

  /** The next frame, whatever it is. */
  next(ms = 3000): Promise<Frame> {
    return this.nextWhere(() => true, ms, "frame");
  }

  /** The next frame of type `t`; frames of other types stay queued for `next()`. */
  async nextOf<T extends Frame["msg"]["t"]>(t: T, ms = 3000): Promise<{ msg: MessageOf<T>; payload: Uint8Array }> {
    const frame = await this.nextWhere((f) => f.msg.t === t, ms, `"${t}" frame`);
    return frame as { msg: MessageOf<T>; payload: Uint8Array };
  }

  /** Resolves to true if no frame of type `t` arrives within `ms`. */
  async quiet(t: Frame["msg"]["t"], ms = 300): Promise<boolean> {
    return this.nextOf(t, ms).then(
      () => false,
      () => true,
    );
  }

  private nextWhere(accept: (f: Frame) => boolean, ms: number, what: string): Promise<Frame> {
    const i = this.frames.findIndex(accept);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    let waiter: Waiter;
    const arrived = new Promise<Frame>((resolve) => {
      waiter = { accept, resolve };
      this.waiters.push(waiter);
    });
    return within(ms, arrived, what).catch((err: unknown) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  async challenge(): Promise<MessageOf<"challenge">> {
    const { msg } = await this.next();
    if (msg.t !== "challenge") throw new Error(`expected challenge, got ${msg.t}`);
    return msg;
  }

  async handshake(imp: TestImp, opts: { key?: CryptoKey; impId?: string; heartbeatMs?: number; agent?: string } = {}): Promise<void> {
    const challenge = await this.challenge();
    await verifyEdgeProof(await Promise.all(imp.edgeKeys.map((k) => importVerifyKey(k))), challenge.proof, {
      impId: imp.impId,
      nonce: challenge.nonce,
      cnonce: this.cnonce,
    });
    await this.hello(
      await signDeviceProof(opts.key ?? imp.deviceKey, "EdDSA", { impId: opts.impId ?? imp.impId, nonce: challenge.nonce }),
      opts.heartbeatMs,
      opts.agent,
    );
    const { msg } = await this.next();
    if (msg.t !== "ready") throw new Error(`expected ready, got ${msg.t}`);
  }

  /** `agent` is what the daemon says it is (its name and version): a device may say anything there. */
  async hello(proof: string, heartbeatMs?: number, agent = "test-device"): Promise<void> {
    this.send(encodeFrame({ t: "hello", proof, agent, protocols: [PROTOCOL_VERSION], ...(heartbeatMs ? { heartbeatMs } : {}) }));
  }

  /** Pings every `everyMs`, as the daemon's heartbeat does (answered by the runtime, no wake); returns the stop. */
  heartbeat(everyMs: number): () => void {
    const timer = setInterval(() => {
      try {
        this.send("ping");
      } catch {
        clearInterval(timer);
      }
    }, everyMs);
    return () => clearInterval(timer);
  }

  send(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  ack(id: string): void {
    this.send(encodeFrame({ t: "ack", id }));
  }

  /** Sends an event as the daemon's `link.send()` does; resolves with the edge's answer (ack or error). */
  async event(name: string, data: unknown, id: string = crypto.randomUUID(), type?: string): Promise<Frame> {
    const bytes = data instanceof Uint8Array ? data : new TextEncoder().encode(JSON.stringify(data));
    const contentType = type ?? (data instanceof Uint8Array ? "application/octet-stream" : "application/json");
    this.send(encodeFrame({ t: "event", id, name, contentType }, bytes));
    return this.nextWhere(
      (f) => (f.msg.t === "ack" || f.msg.t === "error") && (f.msg.t === "ack" ? f.msg.id : f.msg.ref) === id,
      3000,
      `answer to event ${id}`,
    );
  }

  /** Answers every agent request with `reply` until closed. */
  serve(
    reply: (req: MessageOf<"req">, body: Uint8Array) => { status: number; headers?: [string, string][]; body?: Uint8Array | string },
  ): void {
    const loop = async () => {
      for (;;) {
        const frame = await new Promise<Frame>((resolve) => {
          const i = this.frames.findIndex((f) => f.msg.t === "req");
          if (i >= 0) resolve(this.frames.splice(i, 1)[0]!);
          else this.waiters.push({ accept: (f) => f.msg.t === "req", resolve });
        });
        if (frame.msg.t !== "req") continue;
        const r = reply(frame.msg, frame.payload);
        const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : (r.body ?? new Uint8Array(0));
        this.send(encodeFrame({ t: "res", id: frame.msg.id, status: r.status, headers: r.headers ?? [] }, body));
      }
    };
    void loop();
  }

  close(code = 1000): void {
    try {
      this.ws.close(code, "test done");
    } catch {
      // already closed
    }
  }
}

/** Deploys `code` as the imp's agent through the admin API; throws with the API's answer if refused. */
export async function deployAgent(imp: TestImp, code: string, note?: string): Promise<{ version: number; handlers: string[] }> {
  const res = await admin(`/imps/${imp.impId}/agent`, { method: "POST", body: JSON.stringify({ code, note }) });
  if (res.status !== 201) throw new Error(`deploy agent: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface AgentLogEntry {
  seq: number;
  version: number | null;
  source: "agent" | "edge";
  level: string;
  message: string;
}

/** The imp's agent log, oldest first, as the operator reads it. */
export async function agentLogs(imp: TestImp): Promise<AgentLogEntry[]> {
  const res = await admin(`/imps/${imp.impId}/agent/logs?limit=1000`);
  if (res.status !== 200) throw new Error(`agent logs: ${res.status} ${await res.text()}`);
  return (await res.json<{ entries: AgentLogEntry[] }>()).entries;
}

/** The imp's audit log, newest first. */
export async function auditEvents(imp: TestImp): Promise<{ event: string; client: string; detail: Record<string, unknown> }[]> {
  const res = await admin(`/imps/${imp.impId}/audit?limit=1000`);
  return (await res.json<{ entries: { event: string; client: string; detail: Record<string, unknown> }[] }>()).entries;
}

/** Polls `probe` until it returns something truthy; every wait has a timeout. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Devices a describe block connects, each closed after its test. `online()` is a fresh imp
 * with its device connected and authenticated.
 */
export function connectedDevices() {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });
  return {
    track(device: TestDevice): TestDevice {
      devices.push(device);
      return device;
    },
    async online(): Promise<{ imp: TestImp; device: TestDevice }> {
      const imp = await createImp();
      const device = await TestDevice.connect(imp);
      devices.push(device);
      return { imp, device };
    },
  };
}
