import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { signWebhook } from "../../protocol/index.ts";
import {
  admin,
  bearerToken,
  callerFetch,
  connectedDevices,
  createImp,
  deployAgent,
  edgeFetch,
  eventually,
  type TestDevice,
  type TestImp,
} from "./helpers.ts";

interface Accepted {
  id: string;
  status: string;
  expiresAt: number;
}

function post(imp: TestImp, key: string | null, body = "open", query = "?name=door", headers: Record<string, string> = {}) {
  return callerFetch(imp, `/_messages${query}`, {
    method: "POST",
    body,
    headers: { "content-type": "text/plain", ...(key === null ? {} : { "idempotency-key": key }), ...headers },
  });
}

const newKey = () => `"${crypto.randomUUID()}"`;

/** How many messages the imp holds in all (queued or finished): what a duplicate would add to. */
function messageCount(imp: TestImp): Promise<number> {
  return runInDurableObject(
    env.IMP.getByName(imp.impId),
    (_: ImpSession, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n,
  );
}

/** Every message the device receives up to a sentinel sent last: delivery is in order, so a duplicate would come before it. */
async function receivedUntilSentinel(imp: TestImp, device: TestDevice): Promise<string[]> {
  const sentinel = (await (await post(imp, null, "sentinel", "?name=sentinel")).json<Accepted>()).id;
  const ids: string[] = [];
  for (;;) {
    const { msg } = await device.nextOf("msg");
    device.ack(msg.id);
    if (msg.id === sentinel) return ids;
    ids.push(msg.id);
  }
}

describe("POST _messages with an Idempotency-Key", () => {
  const devices = connectedDevices();

  it("answers a retry of the same request with the original 202, id and Location, and queues nothing more", async () => {
    const { imp, device } = await devices.online();
    const key = newKey();
    const first = await post(imp, key);
    expect(first.status).toBe(202);
    const original = await first.json<Accepted>();
    expect(first.headers.get("idempotent-replayed")).toBeNull();

    for (let i = 0; i < 3; i++) {
      const retry = await post(imp, key);
      expect(retry.status).toBe(202);
      expect(await retry.json()).toEqual(original);
      expect(retry.headers.get("location")).toBe(first.headers.get("location"));
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
    }
    // No ttl is the default ttl: the same request.
    expect((await (await post(imp, key, "open", "?name=door&ttl=86400")).json<Accepted>()).id).toBe(original.id);
    expect(await receivedUntilSentinel(imp, device)).toEqual([original.id]);
  });

  it("refuses the same key with a different request (body, name, ttl or content type) with 422, queueing nothing", async () => {
    const imp = await createImp();
    const key = newKey();
    const { id } = await (await post(imp, key)).json<Accepted>();
    const variants = [
      () => post(imp, key, "close"),
      () => post(imp, key, "open", "?name=gate"),
      () => post(imp, key, "open", "?name=door&ttl=60"),
      () => post(imp, key, "open", "?name=door", { "content-type": "application/json" }),
    ];
    for (const variant of variants) {
      const res = await variant();
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toMatchObject({ error: { code: "idempotency_key_reused" } });
    }
    expect(await messageCount(imp)).toBe(1);
    // The key still answers its own request.
    expect((await (await post(imp, key)).json<Accepted>()).id).toBe(id);
  });

  it("answers 409 to a retry while the first request with the key is still arriving, and one message results", async () => {
    const { imp, device } = await devices.online();
    imp.token = await bearerToken(imp);
    const key = newKey();
    const body = new TextEncoder().encode("slow body");
    // A body with a known length streams through to the imp's object, which holds the key meanwhile.
    const { readable, writable } = new FixedLengthStream(body.byteLength);
    const writer = writable.getWriter();
    void writer.write(body.subarray(0, 4));
    const slow = edgeFetch(`${imp.agentUrl}/_messages?name=door`, {
      method: "POST",
      body: readable,
      headers: { authorization: `Bearer ${imp.token}`, "idempotency-key": key, "content-type": "text/plain" },
    });
    const busy = await eventually("a 409 while the first body arrives", async () => {
      const res = await post(imp, key, "slow body");
      return res.status === 409 ? res : await res.body?.cancel().then(() => null);
    });
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await busy.json()).toMatchObject({ error: { code: "idempotency_key_in_use" } });
    // The key is held for this caller only: another credential's request with it goes through.
    const other: TestImp = { ...imp, token: await bearerToken(imp) };
    const otherRes = await post(other, key, "slow body");
    expect(otherRes.status).toBe(202);
    const otherId = (await otherRes.json<Accepted>()).id;

    await writer.write(body.subarray(4));
    await writer.close();
    const first = await slow;
    expect(first.status).toBe(202);
    const { id } = await first.json<Accepted>();
    const retry = await post(imp, key, "slow body");
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect((await retry.json<Accepted>()).id).toBe(id);
    expect(await receivedUntilSentinel(imp, device)).toEqual([otherId, id]);
  });

  it("refuses a malformed key with 400 before queueing anything", async () => {
    const imp = await createImp();
    const malformed = [
      '""', // empty
      `"${"k".repeat(256)}"`, // over 255 characters
      "8e03978e-40d5-43e8-bc93-6894a57f9324", // not a quoted string
      "token",
      '"a", "b"', // two keys
      '"a";p=1', // parameters
      '"unterminated',
      '"bad \\n escape"',
      '"tab\tinside"',
    ];
    for (const key of malformed) {
      const res = await post(imp, key);
      expect(res.status, key).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "bad_idempotency_key" } });
    }
    expect(await messageCount(imp)).toBe(0);
    for (const key of [`"${"k".repeat(255)}"`, '"with \\"quotes\\" and \\\\"', '  "spaced"  ']) {
      expect((await post(imp, key)).status, key).toBe(202);
    }
  });

  it("keeps each credential's keys apart: another caller's key neither replays, refuses nor blocks", async () => {
    const imp = await createImp();
    const other: TestImp = { ...imp, token: await bearerToken(imp) };
    imp.token = await bearerToken(imp);
    const key = newKey();
    const mine = await (await post(imp, key, "mine")).json<Accepted>();
    // The very same request under the other credential: its own message, not the first caller's answer.
    const same = await post(other, key, "mine");
    expect(same.status).toBe(202);
    expect(same.headers.get("idempotent-replayed")).toBeNull();
    const theirs = await same.json<Accepted>();
    expect(theirs.id).not.toBe(mine.id);
    // Another key of the first caller, with a different body: no 422 for the other caller.
    const key2 = newKey();
    expect((await post(imp, key2, "a")).status).toBe(202);
    expect((await post(other, key2, "b")).status).toBe(202);
    // Each still gets its own answer back.
    expect((await (await post(imp, key, "mine")).json<Accepted>()).id).toBe(mine.id);
    expect((await (await post(other, key, "mine")).json<Accepted>()).id).toBe(theirs.id);
    expect(await messageCount(imp)).toBe(4);
  });

  it("holds across a restart of the imp's object, and forgets a key with the alarm after 24 h", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const key = newKey();
    const { id } = await (await post(imp, key, "once", "?name=door&ttl=604800")).json<Accepted>();
    // The alarm is due when the key is (24 h), before the message's 7-day TTL.
    const alarm = await runInDurableObject(stub, (_: ImpSession, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);

    await evictDurableObject(stub);
    const again = await post(imp, key, "once", "?name=door&ttl=604800");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await again.json<Accepted>()).id).toBe(id);

    // A day later (the key's expiry moved into the past), the alarm forgets it.
    await runInDurableObject(stub, (_: ImpSession, state) => {
      state.storage.sql.exec("UPDATE idempotency_keys SET expires_at = ?", Date.now() - 1);
      return state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rows = await runInDurableObject(
      stub,
      (_: ImpSession, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency_keys").one().n,
    );
    expect(rows).toBe(0);
    const later = await post(imp, key, "once", "?name=door&ttl=604800");
    expect(later.status).toBe(202);
    expect((await later.json<Accepted>()).id).not.toBe(id);
  });

  it("remembers only an accepted message: a refused POST may be retried with the same key", async () => {
    const imp = await createImp();
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ queueLimit: 1 }) });
    expect((await post(imp, null, "filler")).status).toBe(202);
    const key = newKey();
    expect((await post(imp, key, "x", "?name=-bad")).status).toBe(400);
    const full = await post(imp, key, "x");
    expect(full.status).toBe(507);
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ queueLimit: 10 }) });
    const accepted = await post(imp, key, "x");
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("idempotent-replayed")).toBeNull();
  });
});

describe("POST _messages with an Idempotency-Key from a webhook sender", () => {
  it("keys on the webhook credential, over HTTPS and over opted-in plain HTTP alike", async () => {
    const imp = await createImp();
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ allowHttp: true }) });
    const res = await admin(`/imps/${imp.impId}/credentials`, {
      method: "POST",
      body: JSON.stringify({ kind: "webhook", format: "stripe", scope: ["messages:write"] }),
    });
    const { secret } = await res.json<{ secret: string }>();
    const key = newKey();
    let sent = 0;
    // A sender's retry is signed afresh (a new timestamp): the key, not the signature, makes it the same message.
    const hook = async (origin: string, payload: string) => {
      const signature = await signWebhook("stripe", secret, new TextEncoder().encode(payload), Math.floor(Date.now() / 1000) - sent++);
      return edgeFetch(`${origin}/_messages?name=hook`, {
        method: "POST",
        headers: Object.fromEntries([signature, ["idempotency-key", key]]),
        body: payload,
      });
    };
    const first = await hook(imp.agentUrl, "{}");
    expect(first.status).toBe(202);
    const { id } = await first.json<Accepted>();
    const overHttp = await hook(imp.agentUrl.replace("https:", "http:"), "{}");
    expect(overHttp.status).toBe(202);
    expect((await overHttp.json<Accepted>()).id).toBe(id);
    expect((await hook(imp.agentUrl, '{"other":1}')).status).toBe(422);
    expect(await messageCount(imp)).toBe(1);
  });
});

describe("agent code's device.send with an idempotency key", () => {
  const devices = connectedDevices();

  it("queues once, answers the repeat with the same id, and keeps the agent's keys apart from callers'", async () => {
    const { imp, device } = await devices.online();
    await deployAgent(
      imp,
      `export default {
        async fetch(request, env) {
          const body = await request.text();
          const first = await env.device.send("door", body, { idempotencyKey: "k-1" });
          const again = await env.device.send("door", body, { idempotencyKey: "k-1" });
          let reused = null;
          try { await env.device.send("door", body + "!", { idempotencyKey: "k-1" }); } catch (err) { reused = err.message; }
          return Response.json({ first, again, reused });
        },
      };`,
    );
    const res = await callerFetch(imp, "/go", { method: "POST", body: "open" });
    const { first, again, reused } = await res.json<{
      first: Accepted & { replayed: boolean };
      again: Accepted & { replayed: boolean };
      reused: string;
    }>();
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ ...first, replayed: true });
    expect(reused).toMatch(/^idempotency_key_reused:/);
    // A caller using the agent's key gets its own message.
    const caller = await post(imp, '"k-1"', "open");
    expect((await caller.json<Accepted>()).id).not.toBe(first.id);
    expect(await receivedUntilSentinel(imp, device)).toHaveLength(2);
  });
});
