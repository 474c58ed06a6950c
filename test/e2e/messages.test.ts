/** Agent messages in tunnel mode: queued while the device is away, POSTed to the local service, retried on 503, shown in `imp show`. */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { LocalService } from "../helpers/local-service.ts";
import { messageStatus, sendMessage } from "../helpers/messages.ts";
import type { CreatedImp } from "../helpers/system.ts";

describe("agent messages in tunnel mode, end to end", () => {
  const e2e = useSystem();
  let service: LocalService;
  /** Answers 503 to the first POST of a message named "flaky", as a service restarting would. */
  let flakyFailures = 0;
  beforeAll(async () => {
    service = await e2e.service((req, res) => {
      if (req.url.endsWith("/flaky") && flakyFailures++ === 0) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(204).end();
    });
  });

  const send = (imp: CreatedImp, name: string, body: string) =>
    sendMessage(e2e, imp, `name=${name}`, body, { "content-type": "application/json" });
  const delivered = (imp: CreatedImp, id: string) =>
    eventually(async () => (await messageStatus(e2e, imp, id)) === "delivered", { timeout: 20_000, what: "delivered status" });

  it("queues a message while the daemon is down and POSTs it to the local service when it connects", async () => {
    const imp = await e2e.imp("queued");
    const id = await send(imp, "open-door", '{"door":"garage"}');
    expect(await messageStatus(e2e, imp, id)).toBe("queued");
    e2e.daemon(imp, ["--forward", service.url]);
    const seen = await eventually(() => service.received.find((r) => r.headers["impgate-message-id"] === id), {
      timeout: 20_000,
      what: "the message at the local service",
    });
    expect(seen).toMatchObject({ method: "POST", url: "/_impgate/messages/open-door" });
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers["impgate-redelivered"]).toBeUndefined();
    expect(seen.body.toString()).toBe('{"door":"garage"}');
    await delivered(imp, id);
    // The daemon keeps the handled id beside its config.
    const state = imp.config.replace(/\.json$/, ".state");
    expect(await readdir(state)).toEqual(["processed-messages.json"]);
    expect(await readFile(`${state}/processed-messages.json`, "utf8")).toContain(id);
  });

  it("retries while the local service answers 503, then delivers once", async () => {
    const { imp, daemon } = await e2e.device("flaky", { service });
    const id = await send(imp, "flaky", "{}");
    await delivered(imp, id);
    expect(service.received.filter((r) => r.headers["impgate-message-id"] === id)).toHaveLength(2);
    expect(await daemon.waitFor((l) => l.msg === "message handler asked to retry later")).toMatchObject({
      reason: "local service answered 503",
    });
  });

  it("shows the device's status in `impgate imp show`: online, daemon, last seen, round trip, queue", async () => {
    // Heartbeats every 300 ms, so a round trip is measured and reported at once.
    const { imp, daemon } = await e2e.device("status", {
      service,
      edit: (c) => ({ ...c, heartbeat: { intervalMs: 300, timeoutMs: 5000, reportMs: 300 } }),
    });
    const shown = await eventually(
      async () => {
        const s = JSON.parse((await e2e.cli("imp", "show", imp.impId, "--json")).stdout) as { rttMs: number | null };
        return s.rttMs !== null && s;
      },
      { timeout: 20_000, what: "a status with a round trip" },
    );
    expect(shown).toMatchObject({ online: true, deviceAgent: expect.stringMatching(/^impgate-device\//), queuedMessages: 0 });
    const text = await e2e.cli("imp", "show", imp.impId);
    expect(text.stdout).toMatch(/device: +online since .* \(impgate-device\/[\d.]+\)/);
    expect(text.stdout).toMatch(/last seen: +.*ago/);
    expect(text.stdout).toMatch(/round trip: +[\d.]+ ms/);
    expect(text.stdout).toMatch(/messages: +0 queued/);
    await daemon.stop();
    const offline = await e2e.cli("imp", "show", imp.impId);
    expect(offline.stdout).toMatch(/device: +offline/);
    expect(offline.stdout).toMatch(/last seen: +.*ago \(impgate-device\//);
  });

  it("refuses to start with a damaged state file, in one readable line", async () => {
    const imp = await e2e.imp("damaged");
    const state = imp.config.replace(/\.json$/, ".state");
    await mkdir(state);
    await writeFile(`${state}/processed-messages.json`, "{");
    const daemon = e2e.daemon(imp, ["--forward", service.url]);
    const line = await daemon.waitFor((l) => l.msg === "cannot open the device state");
    expect(String(line.error)).toMatch(/damaged; move it aside/);
    expect(await daemon.exited()).toBe(1);
  });
});
