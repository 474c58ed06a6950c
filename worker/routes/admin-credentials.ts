/**
 * Caller credentials, per imp: `/admin/imps/<imp>/credentials`. Secrets are made here,
 * returned once in the creation response, and kept only in the imp's own storage.
 */
import { Hono } from "hono";
import { base64url, calculateJwkThumbprint } from "jose";
import * as OTPAuth from "otpauth";
import { z } from "zod";
import type { Credential } from "../../durable-objects/credentials.ts";
import { algorithmForJwk, TOTP, WEBHOOK_FORMATS, WEBHOOK_HEADERS } from "../../protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { asAdmin, PublicJwk, parseBody, publicJwkOf } from "./admin-input.ts";

export const credentialRoutes = new Hono<AppEnv>();

const AddCredential = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("jwt"), label: z.string().trim().min(1).max(64).optional(), publicJwk: PublicJwk }),
  z.object({ kind: z.literal("jwt-secret"), label: z.string().trim().min(1).max(64).optional() }),
  z.object({ kind: z.literal("webhook"), label: z.string().trim().min(1).max(64).optional(), format: z.enum(WEBHOOK_FORMATS) }),
  z.object({ kind: z.literal("totp"), label: z.string().trim().min(1).max(64).optional() }),
]);

function randomId(prefix: string): string {
  return `${prefix}_${base64url.encode(crypto.getRandomValues(new Uint8Array(12)))}`;
}

function randomSecret(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

credentialRoutes.post("/", async (c) => {
  const input = await parseBody(AddCredential, c.req.raw);
  const base = { label: input.label ?? input.kind, createdAt: Date.now() };
  let cred: Credential;
  const extra: Record<string, string> = {};
  switch (input.kind) {
    case "jwt": {
      const publicJwk = publicJwkOf(input.publicJwk, "publicJwk");
      // The id is the key's RFC 7638 thumbprint: a caller derives its `iss` from its own key.
      cred = { ...base, id: await calculateJwkThumbprint(publicJwk), kind: "jwt", alg: algorithmForJwk(publicJwk), publicJwk };
      break;
    }
    case "jwt-secret": {
      const secret = randomSecret();
      cred = { ...base, id: randomId("cs"), kind: "jwt-secret", alg: "HS256", secret };
      extra.secret = secret;
      break;
    }
    case "webhook": {
      const secret = `whsec_${randomSecret()}`;
      cred = { ...base, id: randomId("wh"), kind: "webhook", format: input.format, secret };
      extra.secret = secret;
      extra.header = WEBHOOK_HEADERS[input.format];
      break;
    }
    case "totp": {
      const secret = new OTPAuth.Secret({ size: 20 }).base32;
      cred = { ...base, id: randomId("totp"), kind: "totp", secret, digits: TOTP.digits };
      extra.secret = secret;
      extra.otpauthUri = new OTPAuth.TOTP({
        issuer: "impgate",
        label: base.label,
        secret,
        algorithm: TOTP.algorithm,
        digits: TOTP.digits,
        period: TOTP.period,
      }).toString();
      break;
    }
  }
  const created = await asAdmin(c, (imp) => imp.addCredential(cred));
  return c.json({ credential: created, ...extra }, 201, { "Cache-Control": "no-store" });
});

credentialRoutes.get("/", async (c) => {
  const list = await asAdmin(c, (imp) => imp.listCredentials());
  return c.json({ credentials: list });
});

credentialRoutes.delete("/:credId", async (c) => {
  const revoked = await asAdmin(c, (imp) => imp.revokeCredential(c.req.param("credId")));
  return c.json({ credential: revoked });
});
