/** Tunnel mode's request side, against a real local HTTP service. */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tunnelTo } from "../../device/tunnel.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { spellingsOf } from "../helpers/path-variants.ts";

describe("tunnel mode", () => {
  let service: LocalService;
  beforeAll(async () => {
    service = await startLocalService();
  });
  afterAll(() => service.close());

  const request = (path: string, headers: [string, string][] = [], reservedPath = "/_impgate/messages") =>
    tunnelTo(service.url, { maxBodyBytes: 1024, reservedPath })({
      id: "r",
      method: "POST",
      path,
      query: "",
      headers,
      body: new TextEncoder().encode("hi"),
      deadline: Date.now() + 5000,
    });

  it("refuses agent requests for the messages path, so no caller can pose as a queued message", async () => {
    for (const path of ["/_impgate/messages", "/_impgate/messages/open-door"]) {
      const reply = await request(path, [["impgate-message-id", "forged"]]);
      expect(reply.status).toBe(404);
    }
    expect(service.received).toHaveLength(0);
  });

  it("refuses the messages path in any spelling and any case", async () => {
    const before = service.received.length;
    for (const [path, reserved] of [
      ["/_IMPGATE/Messages/open-door", "/_impgate/messages"],
      ["/_impgate/%6Dessages/open-door", "/_impgate/messages"],
      ["//_impgate/messages/open-door", "/_impgate/messages"],
      ["/%5Fimpgate/./messages", "/_impgate/messages"],
      ["/_impgate%2Fmessages/open-door", "/_impgate/messages"],
      ["/_impgate;x/messages/open-door", "/_impgate/messages"],
      ["/HOOKS/Msgs/open-door", "/hooks/msgs"],
      ["/hooks/x/..%2Fmsgs/open-door", "/hooks/msgs"],
    ]) {
      const reply = await request(path!, [], reserved);
      expect(reply.status, path).toBe(404);
    }
    expect(service.received.length).toBe(before);
  });

  it("keeps every spelling of the messages path from the local service (property)", async () => {
    const before = service.received.length;
    await fc.assert(
      fc.asyncProperty(spellingsOf("/hooks/impgate-messages/open"), async (spelling) => {
        const reply = await request(spelling, [], "/hooks/impgate-messages");
        expect([400, 404], spelling).toContain(reply.status);
      }),
      { numRuns: 200 },
    );
    expect(service.received.length).toBe(before);
  });

  it("refuses a path with no canonical form, and forwards the canonical form of the rest", async () => {
    const before = service.received.length;
    for (const path of ["/%zz", "/%00", "/..", "relative"]) expect((await request(path)).status, path).toBe(400);
    expect(service.received.length).toBe(before);
    expect((await request("/a//b/%2e/%7Ec/x/../%2f")).status).toBe(200);
    expect(service.received.at(-1)!.url).toBe("/a/b/~c/%2F");
  });

  it("drops impgate-* headers a caller sent (any spelling), keeps the edge's impgate-client, and passes the rest", async () => {
    const reply = await request("/_impgate/messagesx", [
      ["impgate-message-id", "forged"],
      ["impgate_message_name", "forged"],
      ["Transfer_Encoding", "chunked"],
      ["impgate-client", "203.0.113.7"],
      ["x-kept", "1"],
    ]);
    expect(reply.status).toBe(200);
    const seen = service.received.at(-1)!;
    expect(seen.headers["impgate-message-id"]).toBeUndefined();
    expect(seen.headers.impgate_message_name).toBeUndefined();
    expect(seen.headers.transfer_encoding).toBeUndefined();
    expect(seen.headers["impgate-client"]).toBe("203.0.113.7");
    expect(seen.headers["x-kept"]).toBe("1");
  });

  it("answers 502 when the local service's reply is over the limit", async () => {
    const big = await startLocalService((_req, res) => res.end(Buffer.alloc(4096)));
    try {
      const reply = await tunnelTo(big.url, { maxBodyBytes: 1024 })({
        id: "r",
        method: "GET",
        path: "/",
        query: "",
        headers: [],
        body: new Uint8Array(0),
        deadline: Date.now() + 5000,
      });
      expect(reply.status).toBe(502);
    } finally {
      await big.close();
    }
  });
});
