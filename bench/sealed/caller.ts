/**
 * The sealed benchmark's callers, in a process of their own so their CPU time can be read
 * apart from the edge's and the device's: N concurrent callers on keep-alive connections,
 * each with one request in flight, for a window. A sealed caller seals every request afresh
 * (a sealed request is accepted once) and opens every reply, as caller/sealed.ts does; a
 * plain caller sends `GET /bench`. Both on the same imp, through the same daemon. The
 * orchestrator (bench/phases/sealed.ts) asks for a warm-up window first, then the measured one.
 */
import https from "node:https";
import { performance } from "node:perf_hooks";
import type { JWK } from "jose";
import { SealedCaller, senderKey } from "../../protocol/sealed/index.ts";
import { serve } from "../ipc.ts";
import { percentile, round, sortedCopy } from "../measure/stats.ts";

interface RunArgs {
  kind: "plain" | "sealed";
  agentUrl: string;
  impId: string;
  pin: string;
  sender: JWK;
  authorization: string;
  ca: string;
  connections: number;
  durationS: number;
}

export interface SealedRunResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

function send(agent: https.Agent, url: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array }, ca: string) {
  return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers, agent, ca, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(init.body);
  });
}

async function run(args: RunArgs): Promise<SealedRunResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: args.connections });
  const auth = { authorization: args.authorization };
  const caller = new SealedCaller({ impId: args.impId, pin: args.pin }, await senderKey(args.sender));
  const key = await send(agent, `${args.agentUrl}/_sealed/key`, { method: "GET", headers: auth }, args.ca);
  if (key.status !== 200) throw new Error(`key statement: ${key.status} ${key.body.toString().slice(0, 200)}`);
  await caller.trust(key.body.toString());
  const one = async (): Promise<boolean> => {
    if (args.kind === "plain") {
      const res = await send(agent, `${args.agentUrl}/bench`, { method: "GET", headers: auth }, args.ca);
      return res.status === 200 && res.body.toString() === "ok";
    }
    const sealed = await caller.seal({ method: "GET", path: "/bench" });
    const res = await send(
      agent,
      `${args.agentUrl}/_sealed`,
      { method: "POST", headers: { ...auth, "content-type": "application/impgate-sealed-request" }, body: sealed.bytes },
      args.ca,
    );
    if (res.status !== 200) return false;
    const reply = await sealed.openReply(new Uint8Array(res.body));
    return reply.status === 200 && new TextDecoder().decode(reply.body) === "ok";
  };
  const window = async (seconds: number) => {
    const latencies: number[] = [];
    let non2xx = 0;
    let errors = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: args.connections }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          try {
            if (await one()) latencies.push(performance.now() - t);
            else non2xx++;
          } catch {
            errors++;
          }
        }
      }),
    );
    return { latencies, non2xx, errors, durationS: (performance.now() - started) / 1000 };
  };
  try {
    const measured = await window(args.durationS);
    const sorted = sortedCopy(measured.latencies);
    return {
      requests: sorted.length,
      durationS: round(measured.durationS, 2),
      rps: round(sorted.length / measured.durationS, 1),
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      non2xx: measured.non2xx,
      errors: measured.errors,
    };
  } finally {
    agent.destroy();
  }
}

serve({ run: (args: RunArgs) => run(args) }, () => {});
