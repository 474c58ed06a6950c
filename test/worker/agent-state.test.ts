import { describe, expect, it } from "vitest";
import { callerFetch, createImp, type TestImp } from "./helpers.ts";

function put(imp: TestImp, key: string, body: string): Promise<Response> {
  return callerFetch(imp, `/_state/${key}`, { method: "PUT", body, headers: { "content-type": "application/json" } });
}

async function errorCode(res: Response): Promise<string> {
  return (await res.json<{ error: { code: string } }>()).error.code;
}

describe("agent state", () => {
  it("stores, reads, lists and deletes JSON values per key", async () => {
    const imp = await createImp();
    const saved = await put(imp, "settings", '{"threshold": 21, "modes": ["eco"]}');
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ key: "settings", value: { threshold: 21, modes: ["eco"] } });
    await put(imp, "count", "3");
    expect(await (await callerFetch(imp, "/_state/count")).json()).toMatchObject({ key: "count", value: 3 });
    const all = await (await callerFetch(imp, "/_state")).json<{ state: Record<string, unknown> }>();
    expect(all.state).toEqual({ count: 3, settings: { threshold: 21, modes: ["eco"] } });

    expect((await callerFetch(imp, "/_state/count", { method: "DELETE" })).status).toBe(204);
    const gone = await callerFetch(imp, "/_state/count");
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe("key_not_found");
    expect((await callerFetch(imp, "/_state/count", { method: "DELETE" })).status).toBe(404);
  });

  it("keeps each imp's state to itself", async () => {
    const a = await createImp();
    const b = await createImp();
    await put(a, "k", '"a"');
    expect((await callerFetch(b, "/_state/k")).status).toBe(404);
  });

  it("refuses a value that is not JSON, a bad key, and a value over 16 KiB", async () => {
    const imp = await createImp();
    const notJson = await put(imp, "k", "{nope");
    expect(notJson.status).toBe(400);
    expect(await errorCode(notJson)).toBe("bad_json");
    const badKey = await put(imp, "-starts-with-dash", "1");
    expect(badKey.status).toBe(400);
    expect(await errorCode(badKey)).toBe("bad_key");
    const big = await put(imp, "k", JSON.stringify("x".repeat(16 * 1024)));
    expect(big.status).toBe(413);
    expect((await callerFetch(imp, "/_state")).status).toBe(200);
  });

  it("refuses to grow past 128 KiB in total with 507, keeping what was stored", async () => {
    const imp = await createImp();
    const value = JSON.stringify("x".repeat(15 * 1024));
    let status = 200;
    let stored = 0;
    for (let i = 0; i < 20 && status === 200; i++) {
      const res = await put(imp, `k${i}`, value);
      status = res.status;
      if (status === 200) stored++;
      else expect(await errorCode(res)).toBe("state_full");
    }
    expect(status).toBe(507);
    expect(stored).toBe(8);
    // Overwriting an existing key with a value of the same size still fits.
    expect((await put(imp, "k0", value)).status).toBe(200);
    const { state } = await (await callerFetch(imp, "/_state")).json<{ state: Record<string, unknown> }>();
    expect(Object.keys(state)).toHaveLength(8);
  });

  it("answers wrong methods with 405", async () => {
    const imp = await createImp();
    expect((await callerFetch(imp, "/_state", { method: "POST", body: "{}" })).status).toBe(405);
    expect((await callerFetch(imp, "/_state/k", { method: "POST", body: "{}" })).status).toBe(405);
  });
});
