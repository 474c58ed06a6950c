/**
 * Failed admin authentication is throttled per client (429 with Retry-After, before the
 * secret is even compared) and audited edge-wide at GET /admin/audit, without the secret.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_POLICY } from "../../edge/auth/rate-guard.ts";
import { admin, edgeFetch, randomClient } from "./helpers.ts";

interface EdgeEntry {
  event: string;
  client: string;
  detail: Record<string, unknown>;
}

function asClient(client: string, authorization?: string): Promise<Response> {
  return edgeFetch("/admin/imps/nope", { headers: { "cf-connecting-ip": client, ...(authorization ? { authorization } : {}) } });
}

async function edgeAudit(): Promise<EdgeEntry[]> {
  const res = await admin("/audit?limit=1000");
  expect(res.status).toBe(200);
  return (await res.json<{ entries: EdgeEntry[] }>()).entries;
}

describe("admin authentication", () => {
  it("holds back a client that keeps failing, even with the right secret, and no one else", async () => {
    const client = randomClient();
    for (let i = 0; i < ADMIN_POLICY.after; i++) expect((await asClient(client, `Bearer guess-${i}`)).status).toBe(401);
    const held = await asClient(client, `Bearer ${env.ADMIN_SECRET}`);
    expect(held.status).toBe(429);
    expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await held.json<{ error: { code: string } }>()).error.code).toBe("rate_limited");
    // Another client with the secret is not held back.
    expect((await asClient(randomClient(), `Bearer ${env.ADMIN_SECRET}`)).status).toBe(404);
  });

  it("records each failure and the start of a client's wait in the edge's audit log, without what was presented", async () => {
    const client = randomClient();
    await asClient(client);
    for (let i = 1; i < ADMIN_POLICY.after; i++) await asClient(client, "Bearer not-the-secret");
    const entries = (await edgeAudit()).filter((e) => e.client === client);
    const failures = entries.filter((e) => e.event === "admin_auth_failed");
    expect(failures).toHaveLength(ADMIN_POLICY.after);
    expect(failures.map((e) => e.detail.reason)).toContain("missing");
    expect(failures[0]).toMatchObject({ detail: { reason: "wrong_secret", method: "GET", path: "/admin/imps/nope" } });
    expect(entries).toContainEqual(expect.objectContaining({ event: "admin_rate_limited" }));
    expect(JSON.stringify(entries)).not.toContain("not-the-secret");
  });

  it("serves the edge's audit log to the admin only", async () => {
    expect((await edgeFetch("/admin/audit")).status).toBe(401);
    expect((await admin("/audit?limit=0")).status).toBe(400);
  });
});
