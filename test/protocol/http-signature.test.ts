/** RFC 9421 signed requests from the attacker's side: what the edge's verifier refuses, and what it hands replay memory. */
import { type CryptoKey, generateKeyPair, importJWK } from "jose";
import { type InnerList, parseDictionary, serializeDictionary } from "structured-headers";
import { beforeAll, describe, expect, it } from "vitest";
import { signRequest } from "../../caller/http-signature.ts";
import { type CallerKey, callerKeyFromPair } from "../../caller/key.ts";
import { type HttpSignatureCredential, HttpSignatureError, signatureKeyId, verifyHttpSignature } from "../../edge/auth/http-signature.ts";
import { checkContentDigest, contentDigest } from "../../protocol/content-digest.ts";
import { signatureBase } from "../../protocol/http-signature.ts";

const URL_ = "https://edge.example/agent/agt_x/hooks/build?ref=main";
const BODY = '{"ref":"main"}';
const now = () => Math.floor(Date.now() / 1000);

let ed: CallerKey;
let ec: CallerKey;
let attacker: CallerKey;
let credential: HttpSignatureCredential;

beforeAll(async () => {
  ed = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
  ec = await callerKeyFromPair(await generateKeyPair("ES256"));
  attacker = await callerKeyFromPair(await generateKeyPair("EdDSA", { crv: "Ed25519" }));
  credential = { id: "cred_build", publicJwk: ed.publicJwk };
});

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

async function signed(key = ed, overrides: Partial<Sent> = {}, options: Partial<Parameters<typeof signRequest>[2]> = {}): Promise<Sent> {
  const request = { method: "POST", url: URL_, headers: { "content-type": "application/json" }, body: BODY, ...overrides };
  const headers = await signRequest(key, request, { keyId: "cred_build", ...options });
  return { ...request, headers: { ...request.headers, ...headers } };
}

function received(sent: Sent) {
  return {
    method: sent.method,
    url: sent.url,
    headers: new Headers(sent.headers),
    body: sent.body === null ? null : new TextEncoder().encode(sent.body),
  };
}

async function refusal(sent: Sent, cred: HttpSignatureCredential = credential): Promise<HttpSignatureError> {
  try {
    await verifyHttpSignature(received(sent), cred);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpSignatureError);
    return err as HttpSignatureError;
  }
  throw new Error("the signature was accepted");
}

/** Re-signs nothing: rewrites the Signature-Input parameters or components as an attacker would (the signature no longer matches, or is never reached). */
function withInput(sent: Sent, input: string): Sent {
  return { ...sent, headers: { ...sent.headers, "signature-input": input } };
}

describe("signed requests the edge accepts", () => {
  it("accepts a signed POST with its body, giving (keyid, nonce, until) for replay memory", async () => {
    const sent = await signed();
    expect(sent.headers["signature-input"]).toMatch(
      /^sig=\("@method" "@target-uri" "content-digest"\);created=\d+;nonce="[^"]+";keyid="cred_build";alg="ed25519"$/,
    );
    expect(signatureKeyId(new Headers(sent.headers))).toBe("cred_build");
    const verified = await verifyHttpSignature(received(sent), credential);
    expect(verified.keyid).toBe("cred_build");
    expect(verified.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(verified.replayUntil).toBeGreaterThanOrEqual(now() + 60);
  });

  it("accepts P-256 keys, bodiless requests, and the headers a credential requires", async () => {
    const sent = await signed(ec, { method: "GET", body: null, headers: { "x-event": "push" } }, { signedHeaders: ["x-event"] });
    await expect(
      verifyHttpSignature(received(sent), { id: "cred_build", publicJwk: ec.publicJwk, signedHeaders: ["x-event"] }),
    ).resolves.toMatchObject({
      keyid: "cred_build",
    });
  });

  it("replay memory sees the same (keyid, nonce) for a replayed request", async () => {
    const sent = await signed();
    const first = await verifyHttpSignature(received(sent), credential);
    const again = await verifyHttpSignature(received(sent), credential);
    expect(`${again.keyid} ${again.nonce}`).toBe(`${first.keyid} ${first.nonce}`);
  });
  it("builds the signature base as RFC 9421 does: the RFC's own Ed25519 example (B.2.6) verifies over it", async () => {
    const rfcKey = (await importJWK(
      { kty: "OKP", crv: "Ed25519", x: "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs" },
      "EdDSA",
    )) as CryptoKey;
    const input = parseDictionary(
      'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
    ).get("sig-b26") as InnerList;
    const signature = parseDictionary(
      "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
    ).get("sig-b26")?.[0] as ArrayBuffer;
    const base = signatureBase(
      {
        method: "POST",
        url: "https://example.com/foo?param=Value&Pet=dog",
        headers: {
          Host: "example.com",
          Date: "Tue, 20 Apr 2021 02:07:55 GMT",
          "Content-Type": "application/json",
          "Content-Length": "18",
        },
      },
      input,
    );
    expect(await crypto.subtle.verify({ name: "Ed25519" }, rfcKey, signature, new TextEncoder().encode(base))).toBe(true);
  });
});

describe("signed requests the edge refuses", () => {
  it("refuses a body changed after signing, and a body whose digest was left out", async () => {
    const sent = await signed();
    expect((await refusal({ ...sent, body: '{"ref":"evil"}' })).code).toBe("ERR_SIG_DIGEST");
    const digest = await contentDigest(new TextEncoder().encode('{"ref":"evil"}'));
    expect((await refusal({ ...sent, body: '{"ref":"evil"}', headers: { ...sent.headers, "content-digest": digest } })).code).toBe(
      "ERR_SIG_INVALID",
    );
    // Signed without a body, then sent with one.
    const bodiless = await signed(ed, { body: null });
    expect((await refusal({ ...bodiless, body: "injected" })).code).toBe("ERR_SIG_COMPONENTS");
  });

  it("refuses a signature over other components than the profile and the credential name", async () => {
    const sent = await signed();
    const params = sent.headers["signature-input"]?.slice(sent.headers["signature-input"].indexOf(";")) ?? "";
    for (const components of [
      '("@method" "content-digest")', // no target: the path could be anything
      '("@target-uri" "content-digest")', // no method
      '("@method" "@authority" "@path" "content-digest")', // no query
      '("@method" "@target-uri")', // the body not covered
      '("@method" "@target-uri" "content-digest" "content-type")', // a header the credential does not name
      '("@method" "@target-uri" "content-digest" "@request-target")',
      '("@method" "@target-uri" "content-digest";sf)',
      '("@method" "@target-uri" "content-digest" "x-event";bs)',
    ]) {
      expect((await refusal(withInput(sent, `sig=${components}${params}`))).code, components).toBe("ERR_SIG_COMPONENTS");
    }
    const required = { ...credential, signedHeaders: ["x-event"] };
    expect((await refusal(sent, required)).code).toBe("ERR_SIG_COMPONENTS");
  });

  it("refuses stale, future and expired signatures, and those without a nonce", async () => {
    expect((await refusal(await signed(ed, {}, { created: now() - 120 }))).code).toBe("ERR_SIG_CREATED");
    expect((await refusal(await signed(ed, {}, { created: now() + 60 }))).code).toBe("ERR_SIG_CREATED");
    const sent = await signed();
    const input = sent.headers["signature-input"] ?? "";
    expect((await refusal(withInput(sent, `${input};expires=${now() - 1}`))).code).toBe("ERR_SIG_EXPIRED");
    expect((await refusal(withInput(sent, input.replace(/;nonce="[^"]+"/, "")))).code).toBe("ERR_SIG_NONCE");
    expect((await refusal(withInput(sent, input.replace(/;created=\d+/, "")))).code).toBe("ERR_SIG_CREATED");
    // Parameters were signed too: moving created into the window breaks the signature.
    const stale = await signed(ed, {}, { created: now() - 120 });
    const moved = (stale.headers["signature-input"] ?? "").replace(/created=\d+/, `created=${now()}`);
    expect((await refusal(withInput(stale, moved))).code).toBe("ERR_SIG_INVALID");
  });

  it("refuses a different keyid, another key, and an alg that is not the key's", async () => {
    const sent = await signed();
    expect((await refusal(sent, { ...credential, id: "cred_other" })).code).toBe("ERR_SIG_KEYID");
    // The attacker signs with its own key and names the victim's credential.
    expect((await refusal(await signed(attacker))).code).toBe("ERR_SIG_INVALID");
    const input = sent.headers["signature-input"] ?? "";
    expect((await refusal(withInput(sent, input.replace('alg="ed25519"', 'alg="hmac-sha256"')))).code).toBe("ERR_SIG_ALG");
    expect((await refusal(withInput(sent, input.replace(';keyid="cred_build"', "")))).code).toBe("ERR_SIG_KEYID");
  });

  it("refuses a request sent to another URL or with another method than was signed", async () => {
    const sent = await signed();
    for (const url of [URL_.replace("build", "deploy"), URL_.replace("main", "evil"), URL_.replace("agt_x", "agt_y"), `${URL_}&x=1`]) {
      expect((await refusal({ ...sent, url })).code, url).toBe("ERR_SIG_INVALID");
    }
    expect((await refusal({ ...sent, method: "PUT" })).code).toBe("ERR_SIG_INVALID");
    expect((await refusal({ ...sent, method: "post" })).code).toBe("ERR_SIG_INVALID");
  });

  it("refuses duplicate labels, a decoy beside the real signature, and signatures spelled oddly", async () => {
    const sent = await signed();
    const input = sent.headers["signature-input"] ?? "";
    const signature = sent.headers.signature ?? "";
    const decoyInput = 'sig=("@method");created=1;nonce="decoy";keyid="cred_build"';
    const cases: [string, Record<string, string>][] = [
      ["duplicate label, real one last", { "signature-input": `${decoyInput}, ${input}` }],
      ["duplicate label, real one first", { "signature-input": `${input}, ${decoyInput}` }],
      ["duplicate signature values", { signature: `${signature}, sig=:AAAA:` }],
      [
        "a decoy second signature",
        { "signature-input": `${input}, decoy=${decoyInput.slice(4)}`, signature: `${signature}, decoy=:AAAA:` },
      ],
      ["a decoy first", { "signature-input": `decoy=${decoyInput.slice(4)}, ${input}`, signature: `decoy=:AAAA:, ${signature}` }],
      ["labels that differ", { signature: signature.replace(/^sig=/, "other=") }],
      ["non-canonical spacing", { "signature-input": input.replace(/\(("@method") /, "( $1  ") }],
      ["an unknown parameter", { "signature-input": `${input};foo=1` }],
      ["a token for a component", { "signature-input": input.replace('"@method"', "method") }],
      ["no signature", { signature: "" }],
    ];
    for (const [what, headers] of cases) {
      const err = await refusal({ ...sent, headers: { ...sent.headers, ...headers } });
      expect(["ERR_SIG_MALFORMED", "ERR_SIG_MISSING"], what).toContain(err.code);
    }
    expect(signatureKeyId(new Headers({ "signature-input": `${input}, ${decoyInput}` }))).toBeNull();
  });

  it("checks a content digest against the body received: SHA-256 and SHA-512 only, every entry", async () => {
    const body = new TextEncoder().encode(BODY);
    const sha256 = await contentDigest(body);
    const sha512 = await contentDigest(body, "sha-512");
    // RFC 9530 §B.1's example body and digests.
    const example = new TextEncoder().encode('{"hello": "world"}');
    expect(await contentDigest(example)).toBe("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    expect(await contentDigest(example, "sha-512")).toBe(
      "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    );
    expect(await checkContentDigest(sha256, body)).toBeNull();
    expect(await checkContentDigest(`${sha256}, ${sha512}`, body)).toBeNull();
    expect(await checkContentDigest(sha256, new TextEncoder().encode(`${BODY} `))).toBe("mismatch");
    expect(await checkContentDigest(`${sha256}, ${await contentDigest(new Uint8Array(), "sha-512")}`, body)).toBe("mismatch");
    expect(await checkContentDigest(`md5=:AAAA:, ${sha256}`, body)).toBe("unsupported_algorithm");
    expect(await checkContentDigest(serializeDictionary({ "sha-256": [new Uint8Array(32), new Map()] }), body)).toBe("mismatch");
    for (const value of ["Garbage", "", "sha-256=abc", "sha-256", `${sha256};x=1`])
      expect(await checkContentDigest(value, body), value).toBe("malformed");
  });
});
