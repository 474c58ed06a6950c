/**
 * A web page seals its own call (WebCrypto only): headless Chromium loads the caller library,
 * signs with a key the page made and cannot export, verifies the device's statement against
 * the pin, refuses a substituted one, seals a request, and opens the device's reply, by hand
 * and through the network library (caller/sealed.ts), which sends nothing to an edge that
 * serves another key. The device side is this Node process. Where the
 * browser comes from, and what happens without one: test/helpers/browser.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { type DecodedRequest, MemoryReplayGuard, openRequest, REQUEST_WINDOW, SenderSet } from "../../protocol/sealed/index.ts";
import { findChromium, HOW_TO_ENABLE } from "../helpers/browser.ts";
import { identityKey, sealedDevice } from "../helpers/sealed-fixture.ts";

const chromium = findChromium();

/** The page's script: what a browser caller writes. */
const PAGE = `
import { SealedAgent } from "./caller/sealed.ts";
import { SealedCaller, senderKey } from "./protocol/sealed/index.ts";
(async () => {
  const report = (result) => fetch("/result", { method: "POST", body: JSON.stringify(result) });
  try {
    const config = await (await fetch("/config")).json();
    // The page's own signing key, never extractable: its public half is what the device lists in e2e.senders.
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    await fetch("/sender", { method: "POST", body: JSON.stringify(publicJwk) });
    const caller = new SealedCaller({ impId: config.impId, pin: config.pin }, await senderKey({ privateKey: pair.privateKey, publicJwk }));
    let substituted = "accepted";
    await caller.trust(await (await fetch("/substituted-key")).text()).catch((err) => { substituted = err.code; });
    await caller.trust(await (await fetch("/key")).text());
    const sealed = await caller.seal({ method: "POST", path: "/door", headers: [["x-marker", config.marker]], body: new TextEncoder().encode(config.marker) });
    const res = await fetch("/sealed", { method: "POST", body: sealed.bytes });
    const reply = await sealed.openReply(new Uint8Array(await res.arrayBuffer()));
    // The same through the network library: an edge serving another key gets nothing sealed.
    const sender = await senderKey({ privateKey: pair.privateKey, publicJwk });
    const agentOf = (path) => new SealedAgent({ agentUrl: location.origin + path, pin: { impId: config.impId, pin: config.pin }, sender, headers: () => ({}) });
    const refused = await agentOf("/agent/evil").request({ method: "GET", path: "/x" }).then(() => "accepted", (err) => err.code);
    const viaAgent = await agentOf("/agent/good").request({ method: "POST", path: "/agent-door", body: new TextEncoder().encode("via agent") });
    await report({
      substituted,
      refused,
      status: reply.status,
      body: new TextDecoder().decode(reply.body),
      agentBody: new TextDecoder().decode(viaAgent.body),
      subtle: typeof crypto.subtle,
    });
  } catch (err) {
    await report({ error: String(err && err.stack || err) });
  }
})();
`;

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

describe("the sealed caller library in a browser", () => {
  it("verifies, seals and opens in headless Chromium, and the device opens what it sealed", async () => {
    // Without a browser this project runs only under CI or with CHROMIUM_PATH set: a failure then.
    if (chromium.path === undefined) throw new Error(`no browser for the browser tests: ${chromium.reason}; ${HOW_TO_ENABLE}`);
    const d = await sealedDevice();
    const intruder = await sealedDevice({ impId: d.impId, identity: await identityKey() });
    const marker = `mk${crypto.randomUUID().replaceAll("-", "")}`;
    const bundle = await build({
      stdin: { contents: PAGE, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
    });
    const script = bundle.outputFiles[0]?.text ?? "";
    const handled: DecodedRequest[] = [];
    const replay = new MemoryReplayGuard(REQUEST_WINDOW);
    let senders = await SenderSet.from([]);
    let resolveResult: (value: Record<string, unknown>) => void = () => {};
    const result = new Promise<Record<string, unknown>>((resolve) => {
      resolveResult = resolve;
    });
    const server = createServer(async (req, res) => {
      try {
        if (req.url === "/") res.setHeader("content-type", "text/html").end(`<!doctype html><script type="module">${script}</script>`);
        else if (req.url === "/config") res.end(JSON.stringify({ impId: d.impId, pin: d.pin, marker }));
        else if (req.url === "/key" || req.url === "/agent/good/_sealed/key") res.end(d.statement);
        else if (req.url === "/substituted-key" || req.url === "/agent/evil/_sealed/key") res.end(intruder.statement);
        else if (req.url === "/sender") {
          senders = await SenderSet.from([JSON.parse((await body(req)).toString())]);
          res.end();
        } else if (req.url === "/sealed" || req.url === "/agent/good/_sealed" || req.url === "/agent/evil/_sealed") {
          const opened = await openRequest([d.opening], new Uint8Array(await body(req)), { senders, replay });
          handled.push(opened.inner);
          res.setHeader("content-type", "application/impgate-sealed-reply");
          res.end(
            await opened.sealReply({ status: 200, body: new TextEncoder().encode(`got ${new TextDecoder().decode(opened.inner.body)}`) }),
          );
        } else if (req.url === "/result") {
          resolveResult(JSON.parse((await body(req)).toString()));
          res.end();
        } else res.writeHead(404).end();
      } catch (err) {
        res.writeHead(500).end();
        resolveResult({ error: `device: ${String(err)}` });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const profile = await mkdtemp(join(tmpdir(), "impgate-chromium-"));
    let browser: ChildProcess | undefined;
    try {
      // Its own process group, so stopping it stops the browser's helper processes too.
      browser = spawn(
        chromium.path,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          `--user-data-dir=${profile}`,
          `http://127.0.0.1:${port}/`,
        ],
        { stdio: "ignore", detached: true },
      );
      const timeout = new Promise<Record<string, unknown>>((resolve) =>
        setTimeout(() => resolve({ error: "no result from the page within 40 s" }), 40_000),
      );
      const outcome = await Promise.race([result, timeout]);
      expect(outcome).toEqual({
        substituted: "ERR_KEY_STATEMENT_IDENTITY_CHANGED",
        refused: "ERR_KEY_STATEMENT_IDENTITY_CHANGED",
        status: 200,
        body: `got ${marker}`,
        agentBody: "got via agent",
        subtle: "object",
      });
      expect(handled).toEqual([
        { method: "POST", path: "/door", query: "", headers: [["x-marker", marker]], body: new TextEncoder().encode(marker) },
        { method: "POST", path: "/agent-door", query: "", headers: [], body: new TextEncoder().encode("via agent") },
      ]);
    } finally {
      if (browser?.pid) {
        const exited = new Promise((resolve) => browser?.once("exit", resolve));
        try {
          process.kill(-browser.pid, "SIGKILL");
        } catch {}
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      }
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(profile, { recursive: true, force: true });
    }
  });
});
