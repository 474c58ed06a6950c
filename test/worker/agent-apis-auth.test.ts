/** The agent's own APIs (_messages, _events, _state) sit behind the same caller authentication as the relay. */
import { describe, expect, it } from "vitest";
import { callerFetch, createImp, edgeFetch } from "./helpers.ts";

describe("agent APIs without a credential", () => {
  it("are refused with 401, and nothing is queued, read or written", async () => {
    const imp = await createImp();
    for (const [method, path, body] of [
      ["POST", "/_messages?name=open", "now"],
      ["GET", "/_events", undefined],
      ["PUT", "/_state/door", '"open"'],
      ["GET", "/_state", undefined],
    ] as const) {
      const res = await edgeFetch(`${imp.agentUrl}${path}`, { method, body, headers: { authorization: "Bearer forged.token.here" } });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    const state = await (await callerFetch(imp, "/_state")).json<{ state: Record<string, unknown> }>();
    expect(state.state).toEqual({});
    const queued = await (await callerFetch(imp, "/_events")).json<{ events: unknown[] }>();
    expect(queued.events).toEqual([]);
    const unauthenticated = await edgeFetch(`${imp.agentUrl}/_messages?name=open`, { method: "POST", body: "x" });
    expect(unauthenticated.status).toBe(401);
  });
});
