/**
 * Property tests: arbitrary and mutated credentials are refused by the verifier itself (401,
 * never a 5xx, and never a rate limit standing in for the verdict); nothing reaches the
 * device. Every request comes from its own address (edgeFetch), so no client is throttled,
 * and rotating codes are guessed at fresh credentials before their guess budget runs out.
 */

import fc from "fast-check";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CODE_POLICIES } from "../../durable-objects/code-guesses.ts";
import { signWebhook } from "../../protocol/index.ts";
import { addCallerKey, admin, assertion, bearerToken, challengeNonce, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

let imp: TestImp;
let device: TestDevice;
let token: string;
let jwt: string;
let webhookSecret: string;

beforeAll(async () => {
  imp = await createImp();
  device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200, body: "reached" }));
  token = await bearerToken(imp);
  const cred = await addCallerKey(imp);
  jwt = await assertion(cred, { nonce: await challengeNonce(imp), audience: imp.agentUrl });
  webhookSecret = (
    await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format: "stripe" }) })
    ).json<{ secret: string }>()
  ).secret;
});
afterAll(() => device.close());

/**
 * A copy of `s` with one character changed, inserted or removed. Copies equal to `s` after
 * trimming are left out: HTTP drops leading and trailing whitespace of a header value, so
 * they are the same credential, not a mutated one.
 */
const mutation = (s: string) =>
  fc
    .tuple(fc.nat({ max: s.length - 1 }), fc.constantFrom("replace", "insert", "delete"), fc.constantFrom(..."ABCabc019-_.=+/ "))
    .map(([i, op, ch]) => {
      if (op === "delete") return s.slice(0, i) + s.slice(i + 1);
      if (op === "insert") return s.slice(0, i) + ch + s.slice(i);
      return s.slice(0, i) + (s[i] === ch ? (ch === "A" ? "B" : "A") : ch) + s.slice(i + 1);
    })
    .filter((m) => m.trim() !== s);

// Fixed seed per run is not used on purpose: every CI run explores new inputs.
const RUNS = { numRuns: 150 };

/** A rotating-code credential, replaced by a fresh one before its guess budget is spent. */
const codeTarget = { imp: undefined as TestImp | undefined, totp: undefined as OTPAuth.TOTP | undefined, guesses: 0 };

async function currentCodeTarget(): Promise<{ imp: TestImp; totp: OTPAuth.TOTP }> {
  if (!codeTarget.imp || !codeTarget.totp || codeTarget.guesses >= (CODE_POLICIES[8]?.after ?? 1) - 1) {
    codeTarget.imp = await createImp();
    const created = await admin(`/imps/${codeTarget.imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp" }) });
    codeTarget.totp = OTPAuth.URI.parse((await created.json<{ otpauthUri: string }>()).otpauthUri) as OTPAuth.TOTP;
    codeTarget.guesses = 0;
  }
  codeTarget.guesses++;
  return { imp: codeTarget.imp, totp: codeTarget.totp };
}

describe("credential parsers under arbitrary input", () => {
  it("bearer tokens: garbage and mutations are refused, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), mutation(token)), async (candidate) => {
        const headers = new Headers();
        try {
          headers.set("authorization", `Bearer ${candidate}`);
        } catch {
          return; // not a legal header value: no request can carry it
        }
        const res = await edgeFetch(`${imp.agentUrl}/x`, { headers });
        expect(res.status, `for ${JSON.stringify(candidate)}`).toBe(401);
      }),
      RUNS,
    );
    expect(device.requests).toHaveLength(0);
  });

  it("assertions: garbage and mutations never mint a token", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), mutation(jwt)), async (candidate) => {
        const res = await edgeFetch(`${imp.agentUrl}/_auth/token`, {
          method: "POST",
          headers: { "content-type": "application/jwt" },
          body: candidate,
        });
        expect(res.status).toBe(401);
      }),
      RUNS,
    );
  });

  it("webhook signatures: garbage headers and mutated signatures or bodies are refused", async () => {
    const body = '{"event":"ping"}';
    const [name, value] = await signWebhook("stripe", webhookSecret, new TextEncoder().encode(body));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ header: fc.string({ maxLength: 200 }), body: fc.constant(body) }),
          fc.record({ header: mutation(value), body: fc.constant(body) }),
          fc.record({ header: fc.constant(value), body: mutation(body) }),
        ),
        async ({ header, body: sent }) => {
          const headers = new Headers();
          try {
            headers.set(name, header);
          } catch {
            return;
          }
          const res = await edgeFetch(`${imp.agentUrl}/hook`, { method: "POST", headers, body: sent });
          expect(res.status).toBe(401);
        },
      ),
      RUNS,
    );
    expect(device.requests).toHaveLength(0);
  });

  it("rotating codes: anything but a valid code is refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.integer({ min: 0, max: 99_999_999 }).map((n) => String(n).padStart(8, "0")),
          fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, "0")),
        ),
        async (code) => {
          const headers = new Headers();
          try {
            headers.set("x-imp-code", code);
          } catch {
            return;
          }
          const target = await currentCodeTarget();
          const now = Date.now();
          fc.pre(![now - 30_000, now, now + 30_000].some((timestamp) => target.totp.generate({ timestamp }) === code));
          const res = await edgeFetch(`${target.imp.agentUrl}/x`, { headers });
          expect(res.status, `for ${JSON.stringify(code)}`).toBe(401);
        },
      ),
      RUNS,
    );
  });
});
