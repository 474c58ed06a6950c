/**
 * A caller whose POST _messages met an edge restart cannot know whether the message was
 * stored. With an Idempotency-Key it retries safely: the real edge (`wrangler dev` with
 * persisted state) is restarted between the POST and its retry, and the device, a real
 * daemon in front of a local service, handles the message once.
 */
import { randomUUID } from "node:crypto";
import https from "node:https";
import { beforeAll, describe, expect, it } from "vitest";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { Reply } from "../helpers/https.ts";
import type { LocalService, Received } from "../helpers/local-service.ts";
import { type CreatedImp, callerAuth } from "../helpers/system.ts";

const idOf = (r: Received) => String(r.headers["impgate-message-id"]);

describe("Idempotency-Key across an edge restart, end to end", () => {
  const e2e = useSystem();
  let service: LocalService;
  beforeAll(async () => {
    service = await e2e.service((_, res) => res.writeHead(204).end());
  });

  function post(imp: CreatedImp, key: string | null, body: string, name = "door"): Promise<Reply> {
    return e2e.call(imp, `/_messages?name=${name}`, {
      method: "POST",
      body,
      headers: { "content-type": "text/plain", ...(key === null ? {} : { "idempotency-key": key }) },
    });
  }

  /** Everything the local service was handed for `imp`'s messages, once a sentinel sent last has arrived (delivery is in order). */
  async function deliveredUntilSentinel(imp: CreatedImp, before: number): Promise<Received[]> {
    const sentinel = (JSON.parse((await post(imp, null, "sentinel", "sentinel")).body.toString()) as { id: string }).id;
    await eventually(() => service.received.some((r) => idOf(r) === sentinel), {
      timeout: 30_000,
      what: "the sentinel at the local service",
    });
    return service.received.slice(before).filter((r) => idOf(r) !== sentinel);
  }

  it("answers the retry after the restart with the original 202 and id, and the device gets the message once", async () => {
    const imp = await e2e.imp("idem-restart");
    const before = service.received.length;
    const daemon = e2e.daemon(imp, ["--forward", service.url]);
    await daemon.waitReady();
    const key = `"${randomUUID()}"`;
    const first = await post(imp, key, '{"door":"open"}');
    expect(first.status).toBe(202);
    const original = JSON.parse(first.body.toString()) as { id: string };
    await eventually(() => service.received.some((r) => idOf(r) === original.id), {
      timeout: 30_000,
      what: "the message at the local service",
    });

    await e2e.system.restartEdge();
    const retry = await post(imp, key, '{"door":"open"}');
    expect(retry.status).toBe(202);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.location).toBe(first.headers.location);
    expect(JSON.parse(retry.body.toString())).toEqual(original);

    await daemon.waitReady(60_000, 1);
    const delivered = await deliveredUntilSentinel(imp, before);
    expect(delivered.map(idOf)).toEqual([original.id]);
    expect(delivered[0]?.body.toString()).toBe('{"door":"open"}');
  }, 120_000);

  it("lets a POST cut short by the restart be retried with its key: one message, and the key not left busy", async () => {
    const imp = await e2e.imp("idem-cut");
    const before = service.received.length;
    const auth = await callerAuth(e2e.system, imp);
    const key = `"${randomUUID()}"`;
    const body = Buffer.from('{"door":"close"}');
    // The edge is restarted while this request's body is still arriving.
    const cut = new Promise<string>((resolve) => {
      const req = https.request(`${imp.agentUrl}/_messages?name=door`, {
        method: "POST",
        ca: e2e.system.pki.caPem,
        agent: false,
        headers: { ...auth, "idempotency-key": key, "content-type": "text/plain", "content-length": body.byteLength },
      });
      req.on("response", (res) => resolve(`answered ${res.statusCode}`));
      req.on("error", (err) => resolve(err.message));
      req.write(body.subarray(0, 5));
    });
    await new Promise((r) => setTimeout(r, 1000));
    await e2e.system.restartEdge();
    expect(await cut).not.toMatch(/^answered 2/);

    // The same caller (credential) retries.
    const retryAs = () =>
      e2e.request(`${imp.agentUrl}/_messages?name=door`, {
        method: "POST",
        body,
        headers: { ...auth, "idempotency-key": key, "content-type": "text/plain" },
      });
    const retry = await retryAs();
    expect(retry.status, retry.body.toString()).toBe(202);
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    const { id } = JSON.parse(retry.body.toString()) as { id: string };
    const again = await retryAs();
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect((JSON.parse(again.body.toString()) as { id: string }).id).toBe(id);

    const daemon = e2e.daemon(imp, ["--forward", service.url]);
    await daemon.waitReady();
    expect((await deliveredUntilSentinel(imp, before)).map(idOf)).toEqual([id]);
  }, 120_000);
});
