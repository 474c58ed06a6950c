/**
 * Provisions imps through the admin API, as `impgate imp create` does: a device key pair
 * made here (the private half stays with the benchmark's device), the public half sent.
 */
import https from "node:https";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export interface AdminAccess {
  origin: string;
  adminSecret: string;
  ca: string;
}

export interface ProvisionedImp {
  impId: string;
  agentUrl: string;
  deviceKey: JWK;
}

export interface Provisioned {
  imps: ProvisionedImp[];
  /** The edge's public keys, which every device pins. */
  edgeKeys: JWK[];
}

function post(agent: https.Agent, admin: AdminAccess, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${admin.origin}/admin${path}`,
      {
        method: "POST",
        agent,
        headers: { authorization: `Bearer ${admin.adminSecret}`, "content-type": "application/json" },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
          } catch {
            reject(new Error(`admin ${path} answered ${res.statusCode} with a non-JSON body`));
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`admin ${path} timed out`)));
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

export async function provisionImps(admin: AdminAccess, count: number, concurrency = 16): Promise<Provisioned> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: admin.ca });
  const imps: ProvisionedImp[] = [];
  let edgeKeys: JWK[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const pair = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
      const res = await post(agent, admin, "/imps", { label: `bench-${n}`, devicePublicJwk: await exportJWK(pair.publicKey) });
      if (res.status !== 201) throw new Error(`provisioning imp ${n} failed: ${res.status} ${JSON.stringify(res.json)}`);
      const created = res.json as { impId: string; agentUrl: string; edgeKeys: JWK[] };
      edgeKeys = created.edgeKeys;
      imps.push({ impId: created.impId, agentUrl: created.agentUrl, deviceKey: await exportJWK(pair.privateKey) });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } finally {
    agent.destroy();
  }
  return { imps, edgeKeys };
}
