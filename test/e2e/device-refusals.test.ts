/**
 * The daemon says what is wrong and gives up when retrying cannot help: each refusal of
 * that kind ends the process with its own exit code and one line saying which and what to
 * do; a TLS failure names what the device trusts and what the server offered; a
 * transient failure keeps it retrying. The real daemon against the real edge.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueServerCert, makeCa } from "../../dev/certs.ts";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { ExitCode } from "../../device/refusals.ts";
import { startFakeEdge } from "../helpers/fake-edge.ts";
import { type CreatedImp, createImp, type Daemon, impgate, type System, startDaemon, startSystem } from "../helpers/system.ts";

const run = promisify(execFile);

async function editConfig(path: string, edit: (c: Record<string, unknown>) => void | Promise<void>): Promise<void> {
  const config = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  config.reconnect = { baseMs: 100, maxMs: 300 };
  await edit(config);
  await writeFile(path, JSON.stringify(config));
}

function exitOf(daemon: Daemon, timeoutMs = 20_000): Promise<number | null> {
  if (daemon.child.exitCode !== null) return Promise.resolve(daemon.child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`daemon still running after ${timeoutMs} ms; log:\n${daemon.lines.map((l) => JSON.stringify(l)).join("\n")}`)),
      timeoutMs,
    );
    daemon.child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The last error line: the one that says why the daemon stopped. */
function finalLine(daemon: Daemon): Record<string, unknown> | undefined {
  return daemon.lines.filter((l) => l.level === "error").at(-1);
}

describe("the daemon's refusals, end to end", () => {
  let system: System;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(async () => {
    await system?.stop();
  });

  async function newImp(label: string): Promise<CreatedImp> {
    const imp = await createImp(system, label);
    await editConfig(imp.config, () => {});
    return imp;
  }

  it("exits 10 with one line when its device key is revoked while it runs", async () => {
    const imp = await newImp("revoked");
    const daemon = startDaemon(imp.config);
    try {
      await daemon.waitReady();
      expect((await impgate(["imp", "revoke-device", imp.impId, "--profile", system.profile])).code).toBe(0);
      expect(await exitOf(daemon)).toBe(ExitCode.deviceRevoked);
      expect(finalLine(daemon)).toMatchObject({ cause: "device_revoked", exitCode: 10 });
      expect(String(finalLine(daemon)?.msg)).toMatch(
        /device key was revoked or the imp was deleted; to give it a new key, run `impgate-device rekey/,
      );
    } finally {
      await daemon.stop();
    }
  });

  it("exits 11 at once when the edge holds another device key", async () => {
    const imp = await newImp("replaced");
    await editConfig(imp.config, async (c) => {
      c.deviceKey = await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);
    });
    const daemon = startDaemon(imp.config);
    try {
      expect(await exitOf(daemon)).toBe(ExitCode.deviceKeyRejected);
      // Refused after the edge proved its key: believed the first time.
      expect(daemon.count("connecting")).toBe(1);
      expect(String(finalLine(daemon)?.msg)).toMatch(/holds a different device key for imp .* \(it was replaced\)/);
    } finally {
      await daemon.stop();
    }
  });

  it("exits 12 when the edge does not know the imp (a config made for another edge)", async () => {
    const imp = await newImp("elsewhere");
    // Another edge's imp id looks like this to the edge: well formed, but not one it issued.
    await editConfig(imp.config, (c) => {
      c.impId = `${imp.impId.slice(0, -4)}${imp.impId.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    });
    const daemon = startDaemon(imp.config);
    try {
      expect(await exitOf(daemon)).toBe(ExitCode.unknownImp);
      expect(String(finalLine(daemon)?.msg)).toMatch(/does not know imp .*: .* was made for another edge, or edgeUrl is wrong/);
      // Not believed from one answer: a server on the path could say 404 too.
      expect(daemon.count("connecting")).toBe(3);
    } finally {
      await daemon.stop();
    }
  });

  it("exits 13 when the edge does not sign with a pinned edge key, naming both keys", async () => {
    const imp = await newImp("edgekey");
    await editConfig(imp.config, async (c) => {
      c.edgeKeys = [await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).publicKey)];
    });
    const daemon = startDaemon(imp.config);
    try {
      expect(await exitOf(daemon)).toBe(ExitCode.edgeKeyMismatch);
      expect(String(finalLine(daemon)?.msg)).toMatch(
        /did not sign the handshake with a pinned edge key \(it signed with edge key [\w-]{43}; pinned: [\w-]{43}\): edgeKeys in .* are for another edge or out of date/,
      );
      expect(daemon.count("connecting")).toBe(3);
    } finally {
      await daemon.stop();
    }
  });

  it("keeps retrying while the edge is unreachable, and connects once it is back", async () => {
    const imp = await newImp("transient");
    let daemon: Daemon | undefined;
    try {
      await system.restartEdge(async () => {
        daemon = startDaemon(imp.config);
        await daemon.waitFor((l) => l.msg === "reconnecting");
        await new Promise((r) => setTimeout(r, 1000));
      });
      if (!daemon) throw new Error("no daemon");
      await daemon.waitReady(30_000);
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      await daemon?.stop();
    }
  });

  it("names the pinned CA and the certificate the server offered when TLS fails, and keeps retrying", async () => {
    const rogueCa = await makeCa("Rogue CA");
    const rogue = await startFakeEdge(await issueServerCert(rogueCa, ["localhost"]), () => {});
    const imp = await newImp("tls");
    await editConfig(imp.config, (c) => {
      c.edgeUrl = rogue.url;
    });
    const daemon = startDaemon(imp.config);
    try {
      const line = await daemon.waitFor((l) => typeof l.msg === "string" && l.msg.startsWith("TLS refused"));
      expect(line.msg).toMatch(
        /^TLS refused \(\w+\): localhost:\d+ offered CN=localhost issued by CN=Rogue CA \(SPKI sha256\/\S+=\); this device trusts only the CAs CN=impgate development CA \(SPKI sha256\/\S+=\); CN=impgate development backup CA \(SPKI sha256\/\S+=\), with SPKI pins sha256\//,
      );
      await daemon.waitFor((l) => l.msg === "reconnecting");
      await new Promise((r) => setTimeout(r, 1000));
      expect(daemon.child.exitCode).toBeNull();
      expect(rogue.connections).toBe(0);
      // Told once, not at every retry.
      expect(daemon.lines.filter((l) => String(l.msg).startsWith("TLS refused"))).toHaveLength(1);
    } finally {
      await daemon.stop();
      await rogue.close();
    }
  });

  it("logs at the level asked for, as text on a terminal and JSON otherwise", async () => {
    const imp = await newImp("levels");
    const quiet = startDaemon(imp.config, ["--log-level", "warn"]);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      expect(quiet.lines.filter((l) => l.level === "info" || l.level === "debug")).toEqual([]);
    } finally {
      await quiet.stop();
    }
    const chatty = startDaemon(imp.config, ["--log-level", "debug"]);
    try {
      await chatty.waitReady();
      expect(chatty.lines.every((l) => typeof l.time === "string" && typeof l.level === "string")).toBe(true);
    } finally {
      await chatty.stop();
    }
    // On a terminal (script(1) gives it one) a refusal is one readable line, not JSON.
    await editConfig(imp.config, async (c) => {
      c.deviceKey = await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);
    });
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
