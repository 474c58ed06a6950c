import { afterEach, describe, expect, it } from "vitest";
import { callerFetch, createImp, edgeFetch, TestDevice, type TestImp, within } from "./helpers.ts";

interface Accepted {
  id: string;
  name: string;
  status: string;
  expiresAt: number;
  createdAt: number;
}

async function send(imp: TestImp, name: string, body: string, query = ""): Promise<Accepted> {
  const res = await callerFetch(imp, `/_messages?name=${name}${query}`, {
    method: "POST",
    body,
    headers: { "content-type": "text/plain" },
  });
  expect(res.status).toBe(202);
  return res.json<Accepted>();
}

async function statusOf(imp: TestImp, id: string): Promise<{ status: string; attempts: number; deliveredAt?: number }> {
  const res = await callerFetch(imp, `/_messages/${id}`);
  expect(res.status).toBe(200);
  return res.json();
}

const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("agent → device messages", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });
  async function connect(imp: TestImp) {
    const device = await TestDevice.connect(imp);
    devices.push(device);
    return device;
  }

  it("accepts a message with 202 and an id while the device is offline, and delivers it when it connects", async () => {
    const imp = await createImp();
    const res = await callerFetch(imp, "/_messages?name=open-door", {
      method: "POST",
      body: '{"door":1}',
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(202);
    const accepted = await res.json<Accepted>();
    expect(accepted).toMatchObject({ name: "open-door", status: "queued" });
    expect(res.headers.get("location")).toBe(`${new URL(imp.agentUrl).pathname}/_messages/${accepted.id}`);
    // Default TTL: 24 hours.
    expect(accepted.expiresAt - accepted.createdAt).toBe(24 * 60 * 60_000);

    const device = await connect(imp);
    const { msg, payload } = await device.nextOf("msg");
    expect(msg).toMatchObject({ id: accepted.id, name: "open-door", contentType: "application/json" });
    expect(text(payload)).toBe('{"door":1}');
    expect((await statusOf(imp, accepted.id)).status).toBe("queued");
    device.ack(msg.id);
    await within(
      2000,
      (async () => {
        while ((await statusOf(imp, accepted.id)).status !== "delivered") await new Promise((r) => setTimeout(r, 20));
      })(),
    );
    expect((await statusOf(imp, accepted.id)).deliveredAt).toBeGreaterThan(0);
  });

  it("delivers at once to a connected device, in the order the messages were accepted", async () => {
    const imp = await createImp();
    const device = await connect(imp);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await send(imp, "n", String(i))).id);
    const seen: string[] = [];
    while (seen.length < 40) {
      const { msg, payload } = await device.nextOf("msg");
      expect(text(payload)).toBe(String(seen.length));
      seen.push(msg.id);
      device.ack(msg.id);
    }
    expect(seen).toEqual(ids);
  });

  it("keeps at most 16 messages unacknowledged on the link, sending more as acks come in", async () => {
    const imp = await createImp();
    for (let i = 0; i < 20; i++) await send(imp, "n", String(i));
    const device = await connect(imp);
    const first: string[] = [];
    for (let i = 0; i < 16; i++) first.push((await device.nextOf("msg")).msg.id);
    expect(await device.quiet("msg")).toBe(true);
    device.ack(first[0]!);
    expect(text((await device.nextOf("msg")).payload)).toBe("16");
  });

  it("re-sends unacknowledged messages after a reconnect, and not acknowledged ones", async () => {
    const imp = await createImp();
    const a = await send(imp, "n", "a");
    const b = await send(imp, "n", "b");
    const first = await connect(imp);
    expect((await first.nextOf("msg")).msg.id).toBe(a.id);
    expect((await first.nextOf("msg")).msg.id).toBe(b.id);
    first.ack(a.id);
    await within(
      2000,
      (async () => {
        while ((await statusOf(imp, a.id)).status !== "delivered") await new Promise((r) => setTimeout(r, 20));
      })(),
    );
    first.close();
    await first.closed;

    const second = await connect(imp);
    const again = await second.nextOf("msg");
    expect(again.msg.id).toBe(b.id);
    expect(await second.quiet("msg")).toBe(true);
    expect((await statusOf(imp, b.id)).attempts).toBe(2);
    second.ack(b.id);
  });

  it("answers an ack for an already delivered message without complaint (a duplicate after reconnect)", async () => {
    const imp = await createImp();
    const a = await send(imp, "n", "a");
    const device = await connect(imp);
    await device.nextOf("msg");
    device.ack(a.id);
    device.ack(a.id);
    expect(await device.quiet("error")).toBe(true);
  });

  it("honours a per-message TTL and refuses one out of bounds", async () => {
    const imp = await createImp();
    const short = await send(imp, "n", "x", "&ttl=60");
    expect(short.expiresAt - short.createdAt).toBe(60_000);
    for (const ttl of ["0", "-5", "abc", String(8 * 24 * 3600), "1.5"]) {
      const res = await callerFetch(imp, `/_messages?ttl=${ttl}`, { method: "POST", body: "x" });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("bad_request");
    }
  });

  it("refuses a bad name or content type, and data over 64 KiB before buffering it", async () => {
    const imp = await createImp();
    const bad = await callerFetch(imp, "/_messages?name=no%20spaces", { method: "POST", body: "x" });
    expect(bad.status).toBe(400);
    expect((await bad.json<{ error: { code: string } }>()).error.code).toBe("bad_name");
    const longType = await callerFetch(imp, "/_messages", {
      method: "POST",
      body: "x",
      headers: { "content-type": `text/${"x".repeat(300)}` },
    });
    expect(longType.status).toBe(400);
    const big = await callerFetch(imp, "/_messages", { method: "POST", body: new Uint8Array(64 * 1024 + 1) });
    expect(big.status).toBe(413);
    const atLimit = await callerFetch(imp, "/_messages", { method: "POST", body: new Uint8Array(64 * 1024) });
    expect(atLimit.status).toBe(202);
  });

  it("answers 404 for a message id it never issued, and the relay's 404 for an unknown agent", async () => {
    const imp = await createImp();
    const res = await callerFetch(imp, "/_messages/not-a-message");
    expect(res.status).toBe(404);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("message_not_found");
    const other = await createImp();
    const msg = await send(other, "n", "x");
    // A message of another imp is not visible through this agent URL.
    expect((await callerFetch(imp, `/_messages/${msg.id}`)).status).toBe(404);
    const unknown = await edgeFetch(`${imp.agentUrl.replace(/.{4}$/, "AAAA")}/_messages`, { method: "POST", body: "x" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: "not_found", message: "Not found" } });
  });

  it("keeps _messages, _events and _state for the agent: wrong methods get 405, other paths 404, nothing is relayed", async () => {
    const imp = await createImp();
    const device = await connect(imp);
    const res = await callerFetch(imp, "/_messages", { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect((await callerFetch(imp, "/_messages/a/b")).status).toBe(404);
    expect((await callerFetch(imp, "/_state/a/b")).status).toBe(404);
    expect((await callerFetch(imp, "/_events/x")).status).toBe(404);
    expect(device.requests).toHaveLength(0);
  });
});
