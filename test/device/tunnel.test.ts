/** Tunnel mode's request side, against a real local HTTP service. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tunnelTo } from "../../device/tunnel.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";

describe("tunnel mode", () => {
  let service: LocalService;
  beforeAll(async () => {
    service = await startLocalService();
  });
  afterAll(() => service.close());

  const request = (path: string, headers: [string, string][] = []) =>
    tunnelTo(service.url, { maxBodyBytes: 1024, reservedPath: "/_impgate/messages" })({
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

  it("drops impgate-* headers a caller sent, and passes the rest", async () => {
    const reply = await request("/_impgate/messagesx", [
      ["impgate-message-id", "forged"],
      ["x-kept", "1"],
    ]);
    expect(reply.status).toBe(200);
    const seen = service.received.at(-1)!;
    expect(seen.headers["impgate-message-id"]).toBeUndefined();
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
