/**
 * `impgate tail <imp>` as a process against the real edge: a line per agent request and
 * per refusal, nothing secret in any of them, one imp's log only, admins only, and a
 * reader that survives an edge restart and stops cleanly on Ctrl-C.
 */
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import type { TailLine } from "../../protocol/tail.ts";
import { TEST_CONFIG_HOME } from "../helpers/cli.ts";
import { Daemon } from "../helpers/daemon.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";

const e2e = useSystem();

/** `impgate tail …` from a folder outside the repository, stopped when the test ends. */
function tail(...args: string[]): Daemon {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, "bin", "impgate.js"), "tail", ...args], {
    cwd: tmpdir(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, XDG_CONFIG_HOME: TEST_CONFIG_HOME },
  });
  const reader = new Daemon(child, `impgate tail ${args[0]}`);
  e2e.defer(() => reader.stop());
  return reader;
}

async function tailing(reader: Daemon, times = 1): Promise<void> {
  await eventually(() => reader.stderr.split("tailing").length > times, { timeout: 20_000, what: `${reader.name} connected` });
}

/**
 * The lines of requests made since `since`: the ones the worker writes (the token exchange
 * of `e2e.device`, made just before) reach the log in batches, up to a second late.
 */
const linesOf = (reader: Daemon, since: number) => (reader.lines as unknown as TailLine[]).filter((l) => l.at >= since);

describe("impgate tail", () => {
  it("prints a line per agent request and per refusal, with none of the secrets the requests carried", async () => {
    const { imp, auth } = await e2e.device("tail");
    const reader = tail(imp.impId, "--json", "--profile", e2e.system.profile);
    await tailing(reader);

    const secretQuery = `token=${"q".repeat(20)}`;
    expect((await e2e.call(imp, `/hello?${secretQuery}`)).status).toBe(200);
    const forged = `${auth.authorization?.slice(0, -8)}AAAAAAAA`;
    expect((await e2e.request(`${imp.agentUrl}/forged`, { headers: { authorization: forged } })).status).toBe(401);
    expect((await e2e.request(`${imp.agentUrl}/anonymous`)).status).toBe(401);

    const hello = await reader.waitFor((l) => l.path === "/hello", 10_000, "the /hello line");
    expect(hello).toMatchObject({ method: "GET", status: 200, query: true });
    expect(hello.cred).toEqual(expect.any(String));
    await reader.waitFor((l) => l.path === "/forged" && l.status === 401, 10_000, "the forged token's line");
    await reader.waitFor((l) => l.path === "/anonymous" && l.status === 401 && l.cred === null, 10_000, "the anonymous line");

    const printed = `${JSON.stringify(reader.lines)}${reader.stderr}`;
    const agentId = imp.agentUrl.split("/agent/")[1] ?? "";
    const token = auth.authorization?.replace(/^Bearer /, "") ?? "";
    expect(agentId.length).toBeGreaterThan(40);
    for (const secret of [agentId, token, forged.replace(/^Bearer /, ""), secretQuery, e2e.system.secrets.ADMIN_SECRET]) {
      expect(printed).not.toContain(secret);
    }
  });

  it("shows each imp only its own requests, and filters by status", async () => {
    const a = await e2e.device("tail-a");
    const b = await e2e.device("tail-b");
    const readA = tail(a.imp.impId, "--json", "--profile", e2e.system.profile);
    const readB = tail(b.imp.impId, "--json", "--profile", e2e.system.profile);
    const refusalsOfB = tail(b.imp.impId, "--json", "--status", "4xx", "--profile", e2e.system.profile);
    await Promise.all([tailing(readA), tailing(readB), tailing(refusalsOfB)]);
    const since = Date.now();

    expect((await e2e.call(a.imp, "/from-a")).status).toBe(200);
    expect((await e2e.call(b.imp, "/from-b")).status).toBe(200);
    expect((await e2e.request(`${b.imp.agentUrl}/refused-b`)).status).toBe(401);

    await readA.waitFor((l) => l.path === "/from-a", 10_000, "a's line");
    await readB.waitFor((l) => l.path === "/refused-b", 10_000, "b's refusal");
    await refusalsOfB.waitFor((l) => l.path === "/refused-b", 10_000, "b's refusal, filtered");
    expect(linesOf(readA, since).map((l) => l.path)).toEqual(["/from-a"]);
    expect(linesOf(readB, since).map((l) => l.path)).toEqual(["/from-b", "/refused-b"]);
    expect(linesOf(refusalsOfB, since).map((l) => l.path)).toEqual(["/refused-b"]);
  });

  it("refuses a reader without the admin secret, and an unknown imp, each in one line", async () => {
    const { imp } = await e2e.device("tail-outsider");
    const outsider = tail(imp.impId, "--profile", e2e.system.profile, "--admin-secret", "not-the-secret");
    expect(await outsider.exited()).toBe(1);
    expect(outsider.stderr.trim().split("\n")).toEqual([expect.stringMatching(/refused the admin secret .*\(401\)/)]);
    expect(outsider.lines).toEqual([]);
    // Nothing the outsider did reached the log of the imp.
    const reader = tail(imp.impId, "--json", "--profile", e2e.system.profile);
    await tailing(reader);
    const since = Date.now();
    expect((await e2e.call(imp, "/after")).status).toBe(200);
    await reader.waitFor((l) => l.path === "/after", 10_000, "the /after line");
    expect(linesOf(reader, since).map((l) => l.path)).toEqual(["/after"]);

    const unknown = tail(`imp_${"A".repeat(43)}`, "--profile", e2e.system.profile);
    expect(await unknown.exited()).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^impgate: no such imp on https:\/\/localhost:\d+: imp_A+$/)]);
  });

  it("reconnects when the edge restarts, and exits 0 on Ctrl-C", async () => {
    const { imp } = await e2e.device("tail-restart");
    const reader = tail(imp.impId, "--profile", e2e.system.profile);
    await tailing(reader);
    await e2e.system.restartEdge();
    await tailing(reader, 2);
    await eventually(async () => (await e2e.call(imp, "/back")).status === 200, { timeout: 20_000, what: "the device back" });
    await reader.waitFor((l) => typeof l.raw === "string" && / GET \/back {2}200 {2}\d+ms {2}\S+$/.test(l.raw), 10_000, "the /back line");
    expect(reader.stderr).toMatch(/reconnecting in/);
    reader.child.kill("SIGINT");
    expect(await reader.exited()).toBe(0);
  });
});
