/**
 * The daemon says what is wrong and gives up when retrying cannot help: each refusal of
 * that kind ends the process with its own exit code and one line saying which and what to
 * do; a TLS failure names what the device trusts and what the server offered; a
 * transient failure keeps it retrying. The real daemon against the real edge.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { issueServerCert, makeCa } from "../../dev/certs.ts";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { ExitCode } from "../../device/refusals.ts";
import type { Daemon } from "../helpers/daemon.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import { startFakeEdge } from "../helpers/fake-edge.ts";
import { editConfig } from "../helpers/system.ts";

const run = promisify(execFile);

const otherKey = async () => exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);

/** The last error line: the one that says why the daemon stopped. */
function finalLine(daemon: Daemon): Record<string, unknown> | undefined {
  return daemon.lines.filter((l) => l.level === "error").at(-1);
}

describe("the daemon's refusals, end to end", () => {
  const e2e = useSystem();

  it("exits 10 with one line when its device key is revoked while it runs", async () => {
    const imp = await e2e.imp("revoked");
    const daemon = e2e.daemon(imp);
    await daemon.waitReady();
    expect((await e2e.cli("imp", "revoke-device", imp.impId)).code).toBe(0);
    expect(await daemon.exited()).toBe(ExitCode.deviceRevoked);
    expect(finalLine(daemon)).toMatchObject({ cause: "device_revoked", exitCode: 10 });
    expect(String(finalLine(daemon)?.msg)).toMatch(
      /device key was revoked or the imp was deleted; to give it a new key, run `impgate-device rekey/,
    );
  });

  it("exits 11 at once when the edge holds another device key", async () => {
    const imp = await e2e.imp("replaced", async (c) => ({ ...c, deviceKey: await otherKey() }));
    const daemon = e2e.daemon(imp);
    expect(await daemon.exited()).toBe(ExitCode.deviceKeyRejected);
    // Refused after the edge proved its key: believed the first time.
    expect(daemon.count("connecting")).toBe(1);
    expect(String(finalLine(daemon)?.msg)).toMatch(/holds a different device key for imp .* \(it was replaced\)/);
  });

  it("exits 12 when the edge does not know the imp (a config made for another edge)", async () => {
    const imp = await e2e.imp("elsewhere");
    // Another edge's imp id looks like this to the edge: well formed, but not one it issued.
    await editConfig(imp.config, (c) => ({ ...c, impId: `${imp.impId.slice(0, -4)}${imp.impId.endsWith("AAAA") ? "BBBB" : "AAAA"}` }));
    const daemon = e2e.daemon(imp);
    expect(await daemon.exited()).toBe(ExitCode.unknownImp);
    expect(String(finalLine(daemon)?.msg)).toMatch(/does not know imp .*: .* was made for another edge, or edgeUrl is wrong/);
    // Not believed from one answer: a server on the path could say 404 too.
    expect(daemon.count("connecting")).toBe(3);
  });

  it("exits 13 when the edge does not sign with a pinned edge key, naming both keys", async () => {
    const imp = await e2e.imp("edgekey", async (c) => ({
      ...c,
      edgeKeys: [await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).publicKey)],
    }));
    const daemon = e2e.daemon(imp);
    expect(await daemon.exited()).toBe(ExitCode.edgeKeyMismatch);
    expect(String(finalLine(daemon)?.msg)).toMatch(
      /did not sign the handshake with a pinned edge key \(it signed with edge key [\w-]{43}; pinned: [\w-]{43}\): edgeKeys in .* are for another edge or out of date/,
    );
    expect(daemon.count("connecting")).toBe(3);
  });

  it("keeps retrying while the edge is unreachable, and connects once it is back", async () => {
    const imp = await e2e.imp("transient");
    let daemon: Daemon | undefined;
    await e2e.system.restartEdge(async () => {
      daemon = e2e.daemon(imp);
      // Three tries while the edge is away: each fails and it tries again.
      await daemon.waitCount("reconnecting", 3);
    });
    if (!daemon) throw new Error("no daemon");
    await daemon.waitReady(30_000);
    expect(daemon.child.exitCode).toBeNull();
  });

  it("names the pinned CA and the certificate the server offered when TLS fails, and keeps retrying", async () => {
    const rogueCa = await makeCa("Rogue CA");
    const rogue = await startFakeEdge(await issueServerCert(rogueCa, ["localhost"]), () => {});
    e2e.defer(() => rogue.close());
    const imp = await e2e.imp("tls", (c) => ({ ...c, edgeUrl: rogue.url }));
    const daemon = e2e.daemon(imp);
    const line = await daemon.waitFor((l) => typeof l.msg === "string" && l.msg.startsWith("TLS refused"));
    expect(line.msg).toMatch(
      /^TLS refused \(\w+\): localhost:\d+ offered CN=localhost issued by CN=Rogue CA \(SPKI sha256\/\S+=\); this device trusts only the CAs CN=impgate development CA \(SPKI sha256\/\S+=\); CN=impgate development backup CA \(SPKI sha256\/\S+=\), with SPKI pins sha256\//,
    );
    // Told once, not at every retry.
    await daemon.waitCount("reconnecting", 3);
    expect(daemon.child.exitCode).toBeNull();
    expect(rogue.connections).toBe(0);
    expect(daemon.lines.filter((l) => String(l.msg).startsWith("TLS refused"))).toHaveLength(1);
  });

  it("logs at the level asked for, as text on a terminal and JSON otherwise", async () => {
    const imp = await e2e.imp("levels");
    const quiet = e2e.daemon(imp, ["--log-level", "warn"]);
    // Connected (the edge shows it online), and not a line below warn on the way.
    await eventually(async () => JSON.parse((await e2e.cli("imp", "show", imp.impId, "--json")).stdout).online === true, {
      timeout: 15_000,
      what: "the imp online",
    });
    await quiet.stop();
    expect(quiet.lines.filter((l) => l.level === "info" || l.level === "debug")).toEqual([]);
    const chatty = e2e.daemon(imp, ["--log-level", "debug"]);
    await chatty.waitReady();
    await chatty.stop();
    expect(chatty.lines.every((l) => typeof l.time === "string" && typeof l.level === "string")).toBe(true);
    // On a terminal (script(1) gives it one) a refusal is one readable line, not JSON.
    await editConfig(imp.config, async (c) => ({ ...c, deviceKey: await otherKey() }));
    const daemon = join(PROJECT_ROOT, "bin", "impgate-device.js");
    const result = await run("script", ["-qec", `"${process.execPath}" "${daemon}" --config "${imp.config}"`, "/dev/null"], {
      timeout: 20_000,
    }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(result.code).toBe(ExitCode.deviceKeyRejected);
    expect(result.out).not.toContain('{"');
    expect(result.out).toMatch(/^\d\d:\d\d:\d\d error +the edge at https:\/\/localhost:\d+ holds a different device key/m);
  });
});
