/**
 * The admin API behind the `impgate` CLI. Every route needs `Authorization: Bearer
 * <ADMIN_SECRET>`; without a configured secret the API is off rather than open.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { edgeKey } from "../edge-key.ts";
import { mintAgentId, mintImpId, verifyImpId } from "../ids.ts";
import { algorithmForJwk } from "../../protocol/index.ts";
import { MAX_QUEUE_LIMIT } from "../../durable-objects/message-queue.ts";

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("*", async (c, next) => {
  const token = c.env.ADMIN_SECRET;
  if (!token) throw new ApiError(503, "admin_disabled", "The admin API is not configured (set ADMIN_SECRET)");
  const presented = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  if (!(await sameSecret(presented, token))) {
    throw new ApiError(401, "unauthorized", "Admin credentials required", { "WWW-Authenticate": 'Bearer realm="impgate-admin"' });
  }
  await next();
});

/** Compares digests, so neither content nor length leaks through timing. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(a)), crypto.subtle.digest("SHA-256", enc.encode(b))]);
  return crypto.subtle.timingSafeEqual(da, db);
}

const PublicJwk = z
  .looseObject({ kty: z.enum(["OKP", "EC"]), crv: z.enum(["Ed25519", "P-256"]), x: z.string().min(1).max(128), y: z.string().max(128).optional() })
  .refine((jwk) => !("d" in jwk), "send the public key only");

const CreateImp = z.object({
  label: z.string().trim().min(1).max(64).optional(),
  devicePublicJwk: PublicJwk,
});

async function parse<T>(schema: z.ZodType<T>, req: Request): Promise<T> {
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new ApiError(400, "bad_request", "Body must be JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(400, "bad_request", `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

async function impIdParam(secret: string, raw: string): Promise<string> {
  const impId = await verifyImpId(secret, raw);
  if (!impId) throw new ApiError(404, "imp_not_found", "No such imp");
  return impId;
}

adminRoutes.get("/edge-key", async (c) => {
  const key = await edgeKey(c.env.EDGE_SIGNING_JWK);
  return c.json({ keys: [key.publicJwk] });
});

adminRoutes.post("/imps", async (c) => {
  const input = await parse(CreateImp, c.req.raw);
  const { x, y, kty, crv } = input.devicePublicJwk;
  const devicePublicJwk = { kty, crv, x, ...(y ? { y } : {}) };
  try {
    algorithmForJwk(devicePublicJwk);
  } catch {
    throw new ApiError(400, "bad_request", "devicePublicJwk: use an Ed25519 or P-256 public key");
  }
  const impId = await mintImpId(c.env.AGENT_ID_KEY);
  const { agentId, urlSecret } = await mintAgentId(c.env.AGENT_ID_KEY, impId);
  const label = input.label ?? impId.slice(0, 8);
  await c.env.IMP.getByName(impId).provision({ impId, label, devicePublicJwk, urlSecret });
  const origin = new URL(c.req.url).origin;
  const key = await edgeKey(c.env.EDGE_SIGNING_JWK);
  return c.json(
    { impId, label, agentId, agentUrl: `${origin}/agent/${agentId}`, deviceUrl: `${origin}/device/${impId}/connect`, edgeKeys: [key.publicJwk] },
    201,
  );
});

adminRoutes.get("/imps/:impId", async (c) => {
  const impId = await impIdParam(c.env.AGENT_ID_KEY, c.req.param("impId"));
  const status = await c.env.IMP.getByName(impId).status();
  if (!status) throw new ApiError(404, "imp_not_found", "No such imp");
  return c.json(status);
});

const UpdateImp = z.object({
  requestTimeoutMs: z.number().int().min(100).max(300_000).nullable().optional(),
  queueLimit: z.number().int().min(1).max(MAX_QUEUE_LIMIT).nullable().optional(),
});

adminRoutes.patch("/imps/:impId", async (c) => {
  const impId = await impIdParam(c.env.AGENT_ID_KEY, c.req.param("impId"));
  const input = await parse(UpdateImp, c.req.raw);
  const stub = c.env.IMP.getByName(impId);
  if (!(await stub.updateSettings(input))) throw new ApiError(404, "imp_not_found", "No such imp");
  const status = await stub.status();
  if (!status) throw new ApiError(404, "imp_not_found", "No such imp");
  return c.json(status);
});
