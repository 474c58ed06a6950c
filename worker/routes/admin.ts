/**
 * The admin API behind the `impgate` CLI. Every route needs `Authorization: Bearer
 * <ADMIN_SECRET>` (worker/auth/admin-auth.ts: off without a secret, failures throttled
 * and audited edge-wide).
 */
import { Hono } from "hono";
import { z } from "zod";
import { EDGE_AUDIT_NAME } from "../../durable-objects/edge-audit.ts";
import { MAX_QUEUE_LIMIT } from "../../durable-objects/message-queue.ts";
import { edgeKey } from "../../edge/edge-key.ts";
import { ImpgateError, orThrow } from "../../edge/errors.ts";
import { E2E_MODES, type ImpStatus, type ImpView, MAX_PRESENCE_TIMEOUT_S } from "../../protocol/admin-api.ts";
import { algorithmForJwk } from "../../protocol/index.ts";
import { fingerprint } from "../../protocol/sealed/statement.ts";
import { authenticateAdmin } from "../auth/admin-auth.ts";
import type { AppEnv } from "../env.ts";
import { composeAgentId, mintAgentId, mintImpId, verifyImpId } from "../ids.ts";
import { agentOrigin } from "../origins.ts";
import { indexImp } from "../registry-query.ts";
import { agentAdminRoutes } from "./admin-agent.ts";
import { credentialRoutes } from "./admin-credentials.ts";
import { fleetRoutes } from "./admin-fleet.ts";
import { asAdmin, PublicJwk, parseBody, publicJwkOf } from "./admin-input.ts";
import { tailRoutes } from "./admin-tail.ts";

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("*", authenticateAdmin);

/** The imp named in the path, or 404 for an id this edge never minted. */
adminRoutes.use("/imps/:impId/*", async (c, next) => {
  if (!(await verifyImpId(c.env.AGENT_ID_KEY, c.req.param("impId") ?? ""))) throw impNotFound();
  await next();
});

function impNotFound(): ImpgateError {
  return new ImpgateError("imp_not_found", "No such imp");
}

/** On the agent URLs' origin, which is not the admin API's when the console has a host of its own (worker/origins.ts). */
function agentUrl(env: AppEnv["Bindings"], requestUrl: string, agentId: string): string {
  return `${agentOrigin(env, requestUrl)}/agent/${agentId}`;
}

/** The imp as the admin sees it: its status and current agent URL (its object keeps only the URL's secret part). */
async function impView(env: AppEnv["Bindings"], requestUrl: string, status: ImpStatus & { urlSecret: string }): Promise<ImpView> {
  const { urlSecret, ...rest } = status;
  const agentId = await composeAgentId(env.AGENT_ID_KEY, rest.impId, urlSecret);
  return { ...rest, agentId, agentUrl: agentUrl(env, requestUrl, agentId) };
}

adminRoutes.get("/edge-key", async (c) => {
  const key = await edgeKey(c.env.EDGE_SIGNING_JWK);
  return c.json({ keys: [key.publicJwk] });
});

const CreateImp = z.object({
  label: z.string().trim().min(1).max(64).optional(),
  devicePublicJwk: PublicJwk,
});

adminRoutes.post("/imps", async (c) => {
  const input = await parseBody(CreateImp, c.req.raw);
  const devicePublicJwk = publicJwkOf(input.devicePublicJwk, "devicePublicJwk");
  algorithmForJwk(devicePublicJwk);
  const impId = await mintImpId(c.env.AGENT_ID_KEY);
  const { agentId, urlSecret } = await mintAgentId(c.env.AGENT_ID_KEY, impId);
  const label = input.label ?? impId.slice(0, 8);
  // In the fleet index before it exists: reindex finds it even if its first row never reaches the registry.
  await indexImp(c.env.REGISTRY, impId);
  await asAdmin(c, (imp) => imp.provision({ impId, label, devicePublicJwk, urlSecret }), impId);
  const origin = agentOrigin(c.env, c.req.url);
  const key = await edgeKey(c.env.EDGE_SIGNING_JWK);
  return c.json(
    {
      impId,
      label,
      agentId,
      agentUrl: agentUrl(c.env, c.req.url, agentId),
      deviceUrl: `${origin}/device/${impId}/connect`,
      edgeKeys: [key.publicJwk],
      deviceFingerprint: await fingerprint(devicePublicJwk),
    },
    201,
  );
});

adminRoutes.get("/imps/:impId", async (c) => {
  const status = await asAdmin(c, (imp) => imp.status());
  return c.json(await impView(c.env, c.req.url, status));
});

const UpdateImp = z.strictObject({
  requestTimeoutMs: z.number().int().min(100).max(300_000).nullable().optional(),
  presenceTimeoutS: z.number().int().min(0).max(MAX_PRESENCE_TIMEOUT_S).nullable().optional(),
  queueLimit: z.number().int().min(1).max(MAX_QUEUE_LIMIT).nullable().optional(),
  allowHttp: z.boolean().optional(),
  public: z.boolean().optional(),
  publicApis: z.boolean().optional(),
  label: z.string().trim().min(1).max(64).optional(),
  cspSandbox: z.boolean().optional(),
  e2e: z.enum(E2E_MODES).optional(),
});

adminRoutes.patch("/imps/:impId", async (c) => {
  const input = await parseBody(UpdateImp, c.req.raw);
  const status = await asAdmin(c, (imp) => imp.configure(input));
  return c.json(await impView(c.env, c.req.url, status));
});

adminRoutes.post("/imps/:impId/rotate-url", async (c) => {
  const impId = c.req.param("impId");
  const { agentId, urlSecret } = await mintAgentId(c.env.AGENT_ID_KEY, impId);
  await asAdmin(c, (imp) => imp.rotateUrl(urlSecret), impId);
  return c.json({ impId, agentId, agentUrl: agentUrl(c.env, c.req.url, agentId) });
});

function auditLimit(raw: string | undefined): number {
  const limit = Number(raw ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ImpgateError("bad_request", "limit: a whole number from 1 to 1000");
  return limit;
}

/** The edge's own security events (failed admin authentication), newest first. */
adminRoutes.get("/audit", async (c) => {
  const entries = orThrow(await c.env.EDGE_AUDIT.getByName(EDGE_AUDIT_NAME).auditLog(auditLimit(c.req.query("limit"))));
  return c.json({ entries });
});

adminRoutes.get("/imps/:impId/audit", async (c) => {
  const limit = auditLimit(c.req.query("limit"));
  const entries = await asAdmin(c, (imp) => imp.auditLog(limit));
  return c.json({ entries });
});

const DeviceKey = z.object({ devicePublicJwk: PublicJwk });

/** Replace the device key (a re-provisioned device) or revoke it (a lost one): the live socket closes at once. */
adminRoutes.put("/imps/:impId/device-key", async (c) => {
  const input = await parseBody(DeviceKey, c.req.raw);
  const jwk = publicJwkOf(input.devicePublicJwk, "devicePublicJwk");
  await asAdmin(c, (imp) => imp.setDeviceKey(jwk));
  return c.json({ impId: c.req.param("impId"), deviceKey: "replaced" });
});

adminRoutes.delete("/imps/:impId/device-key", async (c) => {
  await asAdmin(c, (imp) => imp.setDeviceKey(null));
  return c.json({ impId: c.req.param("impId"), deviceKey: "revoked" });
});

adminRoutes.route("/", fleetRoutes);
adminRoutes.route("/imps/:impId/credentials", credentialRoutes);
adminRoutes.route("/imps/:impId/agent", agentAdminRoutes);
adminRoutes.route("/imps/:impId/tail", tailRoutes);
