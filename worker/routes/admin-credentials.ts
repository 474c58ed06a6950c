/**
 * Caller credentials, per imp: `/admin/imps/<imp>/credentials`. Secrets are made here,
 * returned once in the creation response, and kept only in the imp's own storage. What a
 * credential may do (scope, expiry, rate, address ranges) is parsed in
 * ./admin-credential-input.ts; without a scope a credential reaches the relay only.
 */
import { Hono } from "hono";
import { base64url, calculateJwkThumbprint } from "jose";
import * as OTPAuth from "otpauth";
import { z } from "zod";
import type { Credential } from "../../durable-objects/credentials.ts";
import { ImpgateError } from "../../edge/errors.ts";
import { DEFAULT_CREDENTIAL_SCOPE } from "../../protocol/admin-api.ts";
import { algorithmForJwk, TOTP, WEBHOOK_FORMATS, WEBHOOK_HEADERS } from "../../protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { ConstraintFields, parseConstraints } from "./admin-credential-input.ts";
import { asAdmin, PublicJwk, parseBody, publicJwkOf } from "./admin-input.ts";

export const credentialRoutes = new Hono<AppEnv>();

const AddCredential = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("jwt"), ...ConstraintFields, publicJwk: PublicJwk, dpop: z.boolean().optional() }),
  z.object({ kind: z.literal("jwt-secret"), ...ConstraintFields }),
  z.object({ kind: z.literal("webhook"), ...ConstraintFields, format: z.enum(WEBHOOK_FORMATS) }),
  z.object({ kind: z.literal("totp"), ...ConstraintFields }),
  z.object({ kind: z.literal("http-signature"), ...ConstraintFields, publicJwk: PublicJwk }),
]);

const UpdateCredential = z.strictObject({ ...ConstraintFields, dpop: z.boolean().optional() });

function randomId(prefix: string): string {
  return `${prefix}_${base64url.encode(crypto.getRandomValues(new Uint8Array(12)))}`;
}

function randomSecret(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

credentialRoutes.post("/", async (c) => {
  const input = await parseBody(AddCredential, c.req.raw);
  if (input.signedHeaders !== undefined && input.kind !== "http-signature")
    throw new ImpgateError("bad_request", "signedHeaders: only http-signature credentials sign requests");
  const { scope, expiresAt, rate, from, signedHeaders } = parseConstraints(input);
  const base = {
    label: input.label ?? input.kind,
    createdAt: Date.now(),
    // Least privilege by default: the relay, never the agent's own APIs (they are granted by name).
    scope: scope ?? [...DEFAULT_CREDENTIAL_SCOPE],
    ...(expiresAt ? { expiresAt } : {}),
    ...(rate ? { rate } : {}),
    ...(from ? { from } : {}),
  };
  let cred: Credential;
  const extra: Record<string, string> = {};
  switch (input.kind) {
    case "jwt":
    case "http-signature": {
      const publicJwk = publicJwkOf(input.publicJwk, "publicJwk");
      // The id is the key's RFC 7638 thumbprint: a caller derives its `iss` (or `keyid`) from its own key.
      const id = await calculateJwkThumbprint(publicJwk);
      const alg = algorithmForJwk(publicJwk);
      cred =
        input.kind === "jwt"
          ? { ...base, id, kind: "jwt", alg, publicJwk, dpop: input.dpop ?? true }
          : { ...base, id, kind: "http-signature", alg, publicJwk, ...(signedHeaders?.length ? { signedHeaders } : {}) };
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

credentialRoutes.patch("/:credId", async (c) => {
  const input = await parseBody(UpdateCredential, c.req.raw);
  const changes = {
    ...parseConstraints(input),
    ...(input.label ? { label: input.label } : {}),
    ...(input.dpop === undefined ? {} : { dpop: input.dpop }),
  };
  if (Object.keys(changes).length === 0) throw new ImpgateError("bad_request", "Nothing to change");
  const updated = await asAdmin(c, (imp) => imp.updateCredential(c.req.param("credId"), changes));
  return c.json({ credential: updated });
});

credentialRoutes.delete("/:credId", async (c) => {
  const revoked = await asAdmin(c, (imp) => imp.revokeCredential(c.req.param("credId")));
  return c.json({ credential: revoked });
});
