/** A reader of an imp's live request log in the Workers runtime, as `impgate tail` reads it. */
import { parseTailFrame, type TailFrame, type TailLine } from "../../protocol/tail.ts";
import { admin, within } from "./helpers.ts";

/** A reader over the admin route, `GET /admin/imps/<imp>/tail`. */
export class TailReader {
  readonly ws: WebSocket;
  readonly frames: TailFrame[] = [];
  readonly closed: Promise<number>;
  private wake: (() => void) | undefined;

  constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    ws.addEventListener("message", (e) => {
      const frame = parseTailFrame(String(e.data));
      if (frame) this.frames.push(frame);
      this.wake?.();
    });
    ws.accept();
  }

  static async open(impId: string): Promise<TailReader> {
    const res = await admin(`/imps/${impId}/tail`, { headers: { Upgrade: "websocket" } });
    if (!res.webSocket) throw new Error(`tail: ${res.status} ${await res.text()}`);
    return new TailReader(res.webSocket);
  }

  lines(): TailLine[] {
    return this.frames.flatMap((f) => (f.t === "line" ? [f.line] : []));
  }

  async until<T>(pick: (r: TailReader) => T | undefined, what: string, ms = 3000): Promise<T> {
    return within(
      ms,
      (async () => {
        for (;;) {
          const found = pick(this);
          if (found !== undefined) return found;
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
        }
      })(),
      what,
    );
  }

  line(match: (l: TailLine) => boolean): Promise<TailLine> {
    return this.until((r) => r.lines().find(match), "a matching tail line");
  }

  ack(seq: number): void {
    this.ws.send(JSON.stringify({ t: "ack", seq }));
  }
}
