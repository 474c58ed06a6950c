/**
 * End-to-end sealing with the real edge, the real daemon in tunnel mode and the CLI, as
 * processes: a sealed call, a sealed message and a sealed event go through and only the
 * local service and the caller ever read them; the edge's own output, audit log and agent
 * log hold none of it; plaintext is refused for an imp that requires sealing.
 */
import { describe, expect, it } from "vitest";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import { dpopAuth, edgeStorageFiles, publish, sealedDevice } from "../helpers/sealed-system.ts";

const marker = () => `mk${crypto.randomUUID().replaceAll("-", "")}`;

describe("sealed traffic through the real edge and daemon", () => {
  const e2e = useSystem();

  it("carries a call, a message and an event that only the caller, the device and the owner can read", async () => {
    const m = { path: marker(), header: marker(), body: marker(), reply: marker(), message: marker(), event: marker() };
    const d = await sealedDevice(e2e, "seal", {
      service: (req, res) => {
        if (req.url.startsWith("/_impgate/messages/")) return res.writeHead(200).end();
        res.writeHead(200, { "content-type": "text/plain", "x-reply": m.reply }).end(`${m.reply}:${req.body.toString()}`);
      },
    });
    const thumbprint = (await d.caller("e2e", "show", d.imp.agentUrl, "--key", d.callerKey, "--json")).stdout;
    expect(JSON.parse(thumbprint)).toMatchObject({ impId: d.imp.impId, pin: d.fingerprint });

    // A sealed call: the local service gets the plaintext, the CLI prints the opened reply.
    const call = await d.caller(
      "call",
      "--sealed",
      `${d.imp.agentUrl}/door/${m.path}?x=${m.path}`,
      "-X",
      "PUT",
      "-H",
      `x-marker: ${m.header}`,
      "-d",
      m.body,
      "-i",
      "--key",
      d.callerKey,
    );
    expect(call.stderr).toBe("");
    expect(call.code).toBe(0);
    expect(call.stdout).toContain("HTTP 200 (sealed)");
    expect(call.stdout).toContain(`x-reply: ${m.reply}`);
    expect(call.stdout).toContain(`${m.reply}:${m.body}`);
    const got = d.service.received.find((r) => r.url.startsWith("/door/"));
    expect(got).toMatchObject({ method: "PUT", url: `/door/${m.path}?x=${m.path}` });
    expect(got?.headers["x-marker"]).toBe(m.header);
    expect(got?.headers["impgate-sealed-sender"]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(got?.headers["impgate-client"]).toBeTruthy();
    expect(got?.body.toString()).toBe(m.body);

    // A sealed message: the edge queues ciphertext; the local service gets it opened, under its real name.
    const sent = await d.caller("e2e", "message", d.imp.agentUrl, "door", "-d", m.message, "--type", "text/plain", "--key", d.callerKey);
    expect(sent.stderr).toBe("");
    const delivered = await eventually(() => d.service.received.find((r) => r.url === "/_impgate/messages/door"), {
      timeout: 10_000,
      what: "the sealed message at the local service",
    });
    expect(delivered.body.toString()).toBe(m.message);
    expect(delivered.headers["content-type"]).toBe("text/plain");
    expect(delivered.headers["impgate-sealed-sender"]).toBe(got?.headers["impgate-sealed-sender"]);

    // A sealed event: published by the local service, sealed by the daemon, opened by the owner.
    expect(await publish(d.eventsPort, "temperature", m.event)).toBe(200);
    const events = await d.caller("events", d.imp.agentUrl, "--key", d.ownerKey, "--key", d.callerKey);
    expect(events.stderr).toBe("");
    expect(events.stdout).toMatch(new RegExp(`temperature \\(sealed\\): ${m.event}`));

    // Nothing of it in what the edge printed, its audit log or its agent log.
    const audit = await e2e.cli("audit", d.imp.impId, "--json");
    const logs = await e2e.cli("agent", "logs", d.imp.impId, "--json");
    const show = await e2e.cli("imp", "show", d.imp.impId);
    expect(show.stdout).toContain(`identity:   ${d.fingerprint}`);
    expect(show.stdout).toMatch(/e2e: +required/);
    const edgeSaw = [e2e.system.edgeOutput(), audit.stdout, logs.stdout, show.stdout].join("\n");
    for (const [where, value] of Object.entries(m)) expect(edgeSaw.includes(value), `the ${where} marker at the edge`).toBe(false);

    // Nor in anything the edge stored on disk. The sealed event's ciphertext, as the edge serves it,
    // is there: proof that the search reads what the edge wrote, up to the last write.
    const auth = await dpopAuth(d);
    const eventsUrl = `${d.imp.agentUrl}/_events`;
    const page = JSON.parse((await e2e.request(eventsUrl, { headers: await auth("GET", eventsUrl) })).body.toString()) as {
      events: { data: { ciphertext: string } }[];
    };
    const ciphertext = page.events.at(-1)?.data.ciphertext ?? "";
    expect(ciphertext.length).toBeGreaterThan(20);
    const stored = await edgeStorageFiles(e2e);
    expect(stored.some((f) => f.bytes.includes(ciphertext))).toBe(true);
    for (const [where, value] of Object.entries(m)) {
      const found = stored.filter((f) => f.bytes.includes(value)).map((f) => f.path);
      expect(found, `the ${where} marker in the edge's storage`).toEqual([]);
    }
  });

  it("refuses plaintext for an imp that requires sealing, and nothing reaches the local service", async () => {
    // A credential that may reach the relay in the clear too: what refuses it is the imp's sealing, not its scope.
    const d = await sealedDevice(e2e, "plain", { scope: ["* /**", "sealed"] });
    const call = await d.caller("call", `${d.imp.agentUrl}/door`, "-d", "open", "--key", d.callerKey);
    expect(call.code).not.toBe(0);
    expect(call.stdout).toContain("e2e_required");
    // The device refuses plaintext for itself too (e2e.allowPlaintext is off): with the edge set to optional, still refused.
    expect((await e2e.cli("imp", "set", d.imp.impId, "--e2e", "optional")).code).toBe(0);
    const again = await d.caller("call", `${d.imp.agentUrl}/door`, "-d", "open", "--key", d.callerKey);
    expect(again.stdout).toContain("e2e_required");
    expect(d.service.received).toEqual([]);
    expect(d.daemon.lines.some((l) => l.msg === "plaintext request refused: this device takes sealed requests only")).toBe(true);
  });

  it("refuses a sealed call to a device that was not pinned, and one whose pin is wrong, before sending anything", async () => {
    const d = await sealedDevice(e2e, "nopin", { pin: false });
    const unpinned = await d.caller("call", "--sealed", `${d.imp.agentUrl}/door`, "--key", d.callerKey);
    expect(unpinned.code).toBe(1);
    expect(unpinned.stderr).toMatch(/no pin for .*impgate e2e pin/);
    const other = await sealedDevice(e2e, "other", { pin: false });
    expect((await d.caller("e2e", "pin", d.imp.agentUrl, "--fingerprint", other.fingerprint)).code).toBe(0);
    const wrong = await d.caller("call", "--sealed", `${d.imp.agentUrl}/door`, "--key", d.callerKey);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/REFUSED, nothing sent/);
    expect(d.service.received).toEqual([]);
    expect(d.daemon.lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("sealed request"))).toEqual([]);
  });
});
