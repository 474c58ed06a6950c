/**
 * What the admin routes share: the imp's admin facade, and validation of bodies (one 400
 * naming the field at fault).
 */

import type { Context } from "hono";
import type { JWK } from "jose";
import { z } from "zod";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { clientAddress } from "../../edge/client.ts";
import { ImpgateError, orThrow, type Result } from "../../edge/errors.ts";
import { algorithmForJwk } from "../../protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { ask } from "../facade.ts";

type AdminFacade = ReturnType<DurableObjectStub<ImpSession>["admin"]>;

/**
 * One call on the admin facade of the imp named in the path (or `impId`), its value or its
 * refusal thrown; the admin client's address goes into the imp's audit log.
 */
export async function asAdmin<T>(c: Context<AppEnv>, use: (admin: AdminFacade) => PromiseLike<Result<T>>, impId?: string): Promise<T> {
  const stub = c.env.IMP.getByName(impId ?? c.req.param("impId") ?? "");
  return orThrow(await ask(stub.admin(clientAddress(c.req.raw)), use));
}

export const PublicJwk = z
  .looseObject({
    kty: z.enum(["OKP", "EC"]),
    crv: z.enum(["Ed25519", "P-256"]),
    x: z.string().min(1).max(128),
    y: z.string().max(128).optional(),
  })
  .refine((jwk) => !("d" in jwk), "send the public key only");

/** The public members only (kid, alg, use and anything else are dropped), checked to be a usable key. */
export function publicJwkOf(input: z.infer<typeof PublicJwk>, field: string): JWK {
  const jwk: JWK = { kty: input.kty, crv: input.crv, x: input.x, ...(input.y ? { y: input.y } : {}) };
  try {
    algorithmForJwk(jwk);
  } catch {
    throw new ImpgateError("bad_request", `${field}: use an Ed25519 or P-256 public key`);
  }
  if (jwk.kty === "EC" && !jwk.y) throw new ImpgateError("bad_request", `${field}: a P-256 key needs y`);
  return jwk;
}

export async function parseBody<T>(schema: z.ZodType<T>, req: Request): Promise<T> {
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new ImpgateError("bad_request", "Body must be JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ImpgateError("bad_request", `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
