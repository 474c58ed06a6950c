/**
 * The console's live request log panel, tried from both sides: a signed-in console page gets
 * the imp's tail socket and its lines; a page of any other origin (a device's page on the
 * agents' origin, another site) gets no socket though the browser sends the operator's cookie
 * with it, and neither does a browser that is not signed in.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseTailFrame, type TailFrame } from "../../protocol/tail.ts";
import { signIn } from "./console-session.ts";
import { callerFetch, createImp, TestDevice, type TestImp, within } from "./helpers.ts";
import { AGENT_ORIGIN, CONSOLE, separatedFetch } from "./separate-origins.ts";

const open: { close(): void }[] = [];
afterEach(() => {
  for (const x of open.splice(0)) x.close();
});

async function servedImp(): Promise<TestImp> {
  const imp = await createImp("live-log");
  const device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200, body: "ok" }));
  open.push(device);
  return imp;
}

/** The frames a socket receives, and a wait for one. */
function framesOf(ws: WebSocket): { frames: TailFrame[]; next(pick: (f: TailFrame) => boolean): Promise<TailFrame> } {
  const frames: TailFrame[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    const frame = parseTailFrame(String(e.data));
    if (frame) frames.push(frame);
    for (const w of waiters.splice(0)) w();
  });
  ws.accept();
  open.push({ close: () => ws.close(1000) });
  return {
    frames,
    next: (pick) =>
      within(
        3000,
        (async () => {
          for (;;) {
            const found = frames.find(pick);
            if (found) return found;
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
        })(),
        "a tail frame",
      ),
  };
}

describe("the console's live request log", () => {
  it("streams an imp's requests to a signed-in console page", async () => {
    const imp = await servedImp();
    const b = await signIn();
    const res = await b.get(`/console/imps/${imp.impId}/tail`, { upgrade: "websocket", origin: CONSOLE });
    expect(res.status).toBe(101);
    const socket = res.webSocket;
    if (!socket) throw new Error("no socket");
    const tail = framesOf(socket);
    await tail.next((f) => f.t === "hello");
    expect((await callerFetch(imp, "/door?code=1234")).status).toBe(200);
    const line = await tail.next((f) => f.t === "line" && f.line.path === "/door");
    expect(line).toMatchObject({ t: "line", line: { method: "GET", path: "/door", query: true, status: 200 } });
  });

  it("opens for no page of another origin, and for no browser that is not signed in", async () => {
    const imp = await servedImp();
    const b = await signIn();
    const url = `/console/imps/${imp.impId}/tail`;
    const attempts: [string, Promise<Response>][] = [
      ["a device's page on the agents' origin", b.get(url, { upgrade: "websocket", origin: AGENT_ORIGIN })],
      ["another site", b.get(url, { upgrade: "websocket", origin: "https://evil.example" })],
      ["a sandboxed page (Origin: null)", b.get(url, { upgrade: "websocket", origin: "null" })],
      ["no Origin at all", b.get(url, { upgrade: "websocket" })],
      ["a browser not signed in", separatedFetch(`${CONSOLE}${url}`, { headers: { upgrade: "websocket", origin: CONSOLE } })],
    ];
    for (const [what, attempt] of attempts) {
      const res = await attempt;
      expect(res.webSocket, what).toBeNull();
      expect([301, 302, 303, 401, 403], what).toContain(res.status);
    }
  });
});
