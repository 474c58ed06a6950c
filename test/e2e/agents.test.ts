/**
 * Issue 5, end to end: the garage-door example (agent/examples/garage-door.js) deployed
 * with the CLI to the real edge (`wrangler dev`, which loads it with the Dynamic Worker
 * Loader), called with a token, reaching the real daemon and the local service behind it.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { impgate } from "../helpers/cli.ts";
import { type Device, useSystem } from "../helpers/e2e.ts";

const GARAGE_DOOR = join(PROJECT_ROOT, "agent", "examples", "garage-door.js");

describe("programmable agents, end to end", () => {
  const e2e = useSystem();
  let garage: Device;
  const cli = e2e.cli;
  const call = (path: string, options: { method?: string; headers?: Record<string, string> } = {}) =>
    e2e.request(`${garage.imp.agentUrl}${path}`, options);

  beforeAll(async () => {
    // The garage's local service: opens the door on POST /door.
    garage = await e2e.device("garage", {
      service: (req, res) => {
        res
          .writeHead(req.method === "POST" && req.url === "/door" ? 200 : 404, { "content-type": "application/json" })
          .end('{"door":"moving"}');
      },
    });
  });

  it("deploys the garage-door example with the CLI; POST /open with a token reaches the daemon", async () => {
    const deployed = await cli("agent", "deploy", garage.imp.impId, GARAGE_DOOR, "--note", "garage door");
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^deployed version 1 of garage-door\.js \(fetch, onDeviceEvent; \d+ bytes\)/);

    const opened = await call("/open", { method: "POST", headers: garage.auth });
    expect(opened.status).toBe(200);
    expect(JSON.parse(opened.body.toString())).toEqual({ door: "opening" });
    const seen = garage.service.received.at(-1);
    expect(seen).toMatchObject({ method: "POST", url: "/door" });
    expect(JSON.parse(seen?.body.toString() ?? "")).toMatchObject({ action: "open", by: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    const logs = await cli("agent", "logs", garage.imp.impId);
    expect(logs.stdout).toMatch(/v1 +log +open requested by \S+: the device answered 200/);
    expect((await cli("imp", "show", garage.imp.impId)).stdout).toMatch(/agent: +code version 1/);
  });

  it("refuses a caller without a token before the agent runs: the door never moves", async () => {
    const before = garage.service.received.length;
    const refused = await call("/open", { method: "POST" });
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect((await call("/open", { method: "GET", headers: garage.auth })).status).toBe(405);
    expect(garage.service.received.length).toBe(before);
    expect((await cli("agent", "logs", garage.imp.impId)).stdout.match(/open requested/g)).toHaveLength(1);
  });

  it("shows a syntax error at deploy with the compiler's message, and keeps the running version; usage errors are one line", async () => {
    const broken = join(e2e.system.dir, "broken.js");
    await writeFile(broken, "export default {\n  fetch() { return new Response( }\n};\n");
    const r = await cli("agent", "deploy", garage.imp.impId, broken);
    expect(r.code).toBe(1);
    // One line, naming the file as the user gave it (the edge calls every module agent.js).
    expect(r.stderr).toBe(`impgate: ${broken} was not deployed: SyntaxError: Unexpected token '}' at ${broken}:2:33\n`);
    expect((await call("/open", { method: "POST", headers: garage.auth })).status).toBe(200);
    // Usage mistakes get one readable line.
    expect((await cli("agent", "deploy", garage.imp.impId)).code).toBe(2);
    expect((await cli("agent", "frobnicate")).code).toBe(2);
    const missing = await cli("agent", "deploy", garage.imp.impId, join(e2e.system.dir, "nope.js"));
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^impgate: cannot read .*nope\.js: ENOENT\n$/) });
  });

  it("writes a starter with `agent init` whose TypeScript deploys; rollback and remove work from the CLI", async () => {
    const dir = join(e2e.system.dir, "starter");
    await mkdir(dir);
    // `agent init` needs no edge, so it takes no profile.
    const init = await impgate(["agent", "init", dir, "--ts"]);
    expect(init.code, init.stderr).toBe(0);
    expect(await readFile(join(dir, "impgate-agent.d.ts"), "utf8")).toContain("export interface Agent");
    expect((await impgate(["agent", "init", dir, "--ts"])).stderr).toMatch(/exists \(pass --force/);

    const deployed = await cli("agent", "deploy", garage.imp.impId, join(dir, "agent.ts"));
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toBe("");
    expect(JSON.parse((await call("/status", { headers: garage.auth })).body.toString())).toEqual({ status: "unknown" });

    const show = await cli("agent", "show", garage.imp.impId);
    expect(show.stdout).toMatch(/^agent: version 2\noutbound: no network\n/);
    expect(show.stdout).toMatch(/\* +2 .*fetch,onDeviceEvent,onDeviceConnect,onDeviceDisconnect\n +1 .*garage door/);

    expect((await cli("agent", "rollback", garage.imp.impId)).stdout).toMatch(/^version 1 is active again/);
    expect((await call("/open", { method: "POST", headers: garage.auth })).status).toBe(200);

    expect((await cli("agent", "remove", garage.imp.impId)).code).toBe(0);
    // Tunnel mode again: the request goes to the local service as it is.
    const relayed = await call("/door", { method: "POST", headers: garage.auth });
    expect(relayed.status).toBe(200);
    expect(garage.service.received.at(-1)?.body.toString()).toBe("");
    const audit = await cli("audit", garage.imp.impId);
    for (const event of ["agent_deployed", "agent_rolled_back", "agent_removed"]) expect(audit.stdout).toContain(event);
  });
});
