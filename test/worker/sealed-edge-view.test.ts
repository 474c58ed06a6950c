/**
 * What the edge sees of a sealed exchange: nothing of the inner requests, replies, messages
 * and events. Every byte the edge handles is recorded (the caller's outer requests and the
 * answers, every frame on the device's socket both ways, the imp's object's storage after
 * messages and events, read from inside it, and the audit and agent logs) and searched for
 * random markers placed in the inner paths, headers, bodies, message and event names and
 * data. The markers must come through to the device and the caller, and appear nowhere else.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { openEvent } from "../../protocol/sealed/index.ts";
import { containsBytes } from "../helpers/sealed-fixture.ts";
import { admin, agentLogs, auditEvents, callerFetch, eventually } from "./helpers.ts";
import { sealedEvent, sealedImp } from "./sealed-helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const marker = () => `mk${crypto.randomUUID().replaceAll("-", "")}`;

/** Everything in the imp object's storage, as bytes: every row of every SQL table, and every key/value. */
async function storageDump(impId: string): Promise<Uint8Array[]> {
  const stub = env.IMP.getByName(impId);
  return runInDurableObject(stub, async (_: ImpSession, state) => {
    const out: Uint8Array[] = [];
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'")
      .toArray();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["messages", "events"]));
    for (const { name } of tables) {
      for (const row of state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray()) {
        for (const value of Object.values(row)) {
          out.push(value instanceof ArrayBuffer ? new Uint8Array(value) : text(String(value)));
        }
      }
    }
    for (const [key, value] of await state.storage.list()) out.push(text(key), text(JSON.stringify(value)));
    return out;
  });
}

describe("what the edge sees of sealed traffic", () => {
  it("holds no path, header, body, message or event content of the inner traffic anywhere", async () => {
    const m = {
      path: marker(),
      header: marker(),
      body: marker(),
      replyHeader: marker(),
      replyBody: marker(),
      messageName: marker().slice(0, 40),
      messageData: marker(),
      eventName: marker().slice(0, 40),
      eventData: marker(),
    };
    const s = await sealedImp("required", (req) => ({
      status: 201,
      headers: [["x-reply", `${m.replyHeader} to ${new TextDecoder().decode(req.body)}`]],
      body: text(m.replyBody),
    }));
    const caller = await s.caller();
    const seen: Uint8Array[] = [];
    const record = async (res: Response): Promise<Uint8Array> => {
      const body = new Uint8Array(await res.arrayBuffer());
      seen.push(body, text(JSON.stringify([...res.headers])));
      return body;
    };

    // A request and its reply.
    const sealed = await caller.seal({
      method: "POST",
      path: `/door/${m.path}`,
      query: `?q=${m.path}`,
      headers: [["x-marker", m.header]],
      body: text(m.body),
    });
    seen.push(sealed.bytes);
    const res = await callerFetch(s.imp, "/_sealed", {
      method: "POST",
      headers: { "content-type": "application/impgate-sealed-request" },
      body: sealed.bytes,
    });
    expect(res.status).toBe(200);
    const reply = await sealed.openReply(await record(res));
    expect(reply.status).toBe(201);
    expect(reply.headers).toEqual([["x-reply", `${m.replyHeader} to ${m.body}`]]);
    expect(new TextDecoder().decode(reply.body)).toBe(m.replyBody);
    expect(s.handled.map((r) => r.path)).toEqual([`/door/${m.path}`]);

    // A message, queued by the edge as ciphertext (its storage read while it waits) and opened by the device.
    const release = s.holdMessages();
    const message = await caller.sealMessage({ name: m.messageName, contentType: "text/plain", data: text(m.messageData) });
    seen.push(message.bytes);
    const queued = await callerFetch(s.imp, "/_messages?name=sealed", {
      method: "POST",
      headers: { "content-type": "application/impgate-sealed-message" },
      body: message.bytes,
    });
    expect(queued.status).toBe(202);
    const { id } = JSON.parse(new TextDecoder().decode(await record(queued))) as { id: string };
    await eventually("the message at the device", async () => s.messages.length === 1);
    const whileQueued = await storageDump(s.imp.impId);
    expect(whileQueued.some((bytes) => containsBytes(bytes, message.bytes.subarray(0, 64)))).toBe(true);
    seen.push(...whileQueued);
    release();
    await eventually("the message delivered", async () => {
      const status = await callerFetch(s.imp, `/_messages/${id}`);
      return (await status.clone().json<{ status: string }>()).status === "delivered" && (await record(status));
    });
    expect(s.messages).toEqual([{ name: m.messageName, contentType: "text/plain", data: text(m.messageData) }]);

    // An event, sealed by the device to its owner, stored by the edge, opened by the owner.
    expect((await sealedEvent(s, m.eventName, m.eventData)).msg.t).toBe("ack");
    const events = await callerFetch(s.imp, "/_events");
    const page = JSON.parse(new TextDecoder().decode(await record(events))) as { events: { name: string; data: unknown }[] };
    expect(page.events.map((e) => e.name)).toEqual(["sealed"]);
    const opened = await openEvent(JSON.stringify(page.events[0]?.data), { key: s.owner.privateJwk, pin: s.pin, impId: s.imp.impId });
    expect({ name: opened.name, data: new TextDecoder().decode(opened.data) }).toEqual({ name: m.eventName, data: m.eventData });

    // Everything the edge handled or kept.
    seen.push(...s.frames, ...(await storageDump(s.imp.impId)));
    seen.push(text(JSON.stringify(await auditEvents(s.imp))), text(JSON.stringify(await agentLogs(s.imp))));
    seen.push(text(await (await admin(`/imps/${s.imp.impId}`)).text()));
    expect(s.frames.length).toBeGreaterThanOrEqual(6);
    for (const [where, value] of Object.entries(m)) {
      const found = seen.findIndex((bytes) => containsBytes(bytes, text(value)));
      expect(found, `the ${where} marker in what the edge handled (item ${found})`).toBe(-1);
    }
    s.device.close();
  });
});
