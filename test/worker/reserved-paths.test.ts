/**
 * Reserved paths reached through encoding, tried as an authenticated caller would (or
 * anyone, on a public imp): a path that a decoding, slash-merging or case-folding local
 * service would read as `/_impgate/messages/…` or `/_state` must never reach the device.
 * The edge puts the path in its one canonical form first; see protocol/canonical-path.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { spellingsOf } from "../helpers/path-variants.ts";
import { callerFetch, connectedDevices, edgeFetch } from "./helpers.ts";

const REACHED = "the device answered";

describe("reserved paths, spelled otherwise", () => {
  const { online } = connectedDevices();

  async function armed() {
    const { imp, device } = await online();
    device.serve(() => ({ status: 200, body: REACHED }));
    return { imp, device };
  }

  it.each([
    ["POST", "/%5Fimpgate/messages/open-door", 404],
    ["POST", "/_impgate/%6Dessages/open-door", 404],
    ["POST", "//_impgate/messages/open-door", 404],
    ["POST", "/_IMPGATE/messages/open-door", 404],
    ["POST", "/_impgate%2Fmessages/open-door", 404],
    ["GET", "/./_messages", 405],
    ["GET", "/%5Fmessages", 405],
    ["GET", "//_state", 200],
    ["GET", "/_STATE", 404],
    ["GET", "/x/..%2F_state", 404],
    ["GET", "/%255Fstate", 404],
  ])("%s %s is impgate's own (%i), and nothing reaches the device", async (method, path, status) => {
    const { imp, device } = await armed();
    const res = await callerFetch(imp, path, { method, body: method === "POST" ? "{}" : undefined });
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(text).not.toContain(REACHED);
    expect(device.requests).toEqual([]);
  });

  it("refuses a path with no canonical form with 400, and nothing reaches the device", async () => {
    const { imp, device } = await armed();
    for (const path of ["/%zz", "/a%2", "/%00", "/a%0D%0Ab", "/%7F"]) {
      const res = await callerFetch(imp, path);
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "bad_path" } });
    }
    expect(device.requests).toEqual([]);
  });

  it("answers an agent id with a percent-encoded character with the same 404 as an unknown one", async () => {
    const { imp, device } = await armed();
    const unknown = await edgeFetch(`/agent/agt_${"A".repeat(64)}/hello`);
    // The id spelled with one character encoded: the very same id to a decoding router.
    const encoded = `%${imp.agentId.charCodeAt(5).toString(16).toUpperCase()}`;
    const spelled = `${imp.agentId.slice(0, 5)}${encoded}${imp.agentId.slice(6)}`;
    const res = await callerFetch(imp, `https://edge.test/agent/${spelled}/hello`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(await unknown.text());
    expect((await callerFetch(imp, `https://edge.test/%61gent/${imp.agentId}/hello`)).status).toBe(404);
    expect(device.requests).toEqual([]);
  });

  it("never reaches the device with any spelling of a reserved path (property)", async () => {
    const { imp, device } = await armed();
    const reserved = fc.constantFrom("/_impgate/messages/x", "/_state/k", "/_messages", "/_events", "/_auth/token", "/_anything");
    await fc.assert(
      fc.asyncProperty(
        reserved.chain((path) => spellingsOf(path)),
        fc.constantFrom("GET", "POST", "PUT"),
        async (spelling, method) => {
          const res = await callerFetch(imp, spelling, { method, body: method === "GET" ? undefined : "{}" });
          expect(await res.text()).not.toContain(REACHED);
          expect(res.status).not.toBe(502);
          expect(device.requests.map((r) => r.path)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("hands the device the canonical path, and the query as sent", async () => {
    const { imp, device } = await armed();
    await callerFetch(imp, "/a/%7Euser//b/%2e/c/../d/%e2%9c%93%2f?x=%2f&y");
    expect(device.requests.map((r) => [r.path, r.query])).toEqual([["/a/~user/b/d/%E2%9C%93%2F", "?x=%2f&y"]]);
  });
});
