import { afterEach, describe, expect, it } from "vitest";
import { callerFetch, createImp, TestDevice } from "./helpers.ts";

const LIMIT = 1024 * 1024;

describe("request body limit", () => {
  let device: TestDevice | undefined;
  afterEach(() => device?.close());

  it("passes a body at the limit through to the device", async () => {
    const imp = await createImp();
    device = await TestDevice.connect(imp);
    device.serve((_req, body) => ({ status: 200, body: String(body.length) }));
    const res = await callerFetch(imp, `/upload`, { method: "POST", body: new Uint8Array(LIMIT) });
    expect(await res.text()).toBe(String(LIMIT));
  });

  it("refuses a declared Content-Length over the limit with 413, before the device sees it", async () => {
    const imp = await createImp();
    device = await TestDevice.connect(imp);
    const res = await callerFetch(imp, `/upload`, { method: "POST", body: new Uint8Array(LIMIT + 1) });
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("body_too_large");
    expect(device.requests).toHaveLength(0);
  });

  it("refuses a streamed body of unknown length once it passes the limit", async () => {
    const imp = await createImp();
    device = await TestDevice.connect(imp);
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Endless: the edge must stop reading rather than buffer it all.
        pulled += 64 * 1024;
        if (pulled > 64 * LIMIT) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const res = await callerFetch(imp, `/upload`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(4 * LIMIT);
    expect(device.requests).toHaveLength(0);
  });
});
