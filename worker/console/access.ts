/**
 * Cloudflare Access in front of the console. With ACCESS_TEAM_DOMAIN and ACCESS_AUD set,
 * every console request must carry a `Cf-Access-Jwt-Assertion` that Access signed: verified
 * with jose against the team's published keys (`<team domain>/cdn-cgi/access/certs`), its
 * issuer (the team domain) and the application's audience tag. The operator is the token's
 * email (or subject). The admin-secret sign-in is then off.
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Env } from "../env.ts";

type AccessEnv = Pick<Env, "ACCESS_TEAM_DOMAIN" | "ACCESS_AUD">;

export const ACCESS_HEADER = "cf-access-jwt-assertion";

export function accessConfigured(env: AccessEnv): boolean {
  return Boolean(env.ACCESS_TEAM_DOMAIN?.trim() && env.ACCESS_AUD?.trim());
}

/** `team.cloudflareaccess.com` or `https://team.cloudflareaccess.com/`: the issuer, `https://team.cloudflareaccess.com`. */
function teamOrigin(domain: string): string {
  const d = domain.trim().replace(/\/+$/, "");
  return /^https:\/\//.test(d) ? d : `https://${d}`;
}

/** One key set per team per isolate: jose caches the keys and refetches on an unknown kid. */
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The operator Access vouches for (`access:<email>`), or null if the assertion is missing or does not verify. */
export async function accessOperator(env: AccessEnv, req: Request): Promise<string | null> {
  const token = req.headers.get(ACCESS_HEADER);
  if (!token || !accessConfigured(env)) return null;
  const issuer = teamOrigin(env.ACCESS_TEAM_DOMAIN ?? "");
  let keys = keySets.get(issuer);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(`${issuer}/cdn-cgi/access/certs`));
    keySets.set(issuer, keys);
  }
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer,
      audience: env.ACCESS_AUD?.trim(),
      algorithms: ["RS256", "ES256"],
      maxTokenAge: "24h",
    });
    const who = typeof payload.email === "string" ? payload.email : payload.sub;
    return who ? `access:${who.slice(0, 56)}` : null;
  } catch {
    return null;
  }
}
