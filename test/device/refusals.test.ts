import { describe, expect, it } from "vitest";
import { classify, PermanentRefusal, RefusalTracker, UNTRUSTED_REPEATS } from "../../device/refusals.ts";
import { CloseCode } from "../../protocol/index.ts";

describe("refusals the daemon gives up on", () => {
  it("believes a refusal at once only after the edge proved its key on that socket", () => {
    expect(classify({ phase: "hello", code: CloseCode.badDeviceProof })).toEqual({ cause: "device_key_rejected", trusted: true });
    expect(classify({ phase: "hello", code: CloseCode.deviceRevoked })).toEqual({ cause: "device_revoked", trusted: true });
    expect(classify({ phase: "challenge", code: CloseCode.deviceRevoked })).toEqual({ cause: "device_revoked", trusted: false });
    expect(classify({ phase: "challenge", code: 1006, httpStatus: 404 })).toEqual({ cause: "unknown_imp", trusted: false });
    expect(classify({ phase: "closed", code: 1006, closedByUs: true, edgeProof: "bad_signature" })).toEqual({
      cause: "edge_key_mismatch",
      trusted: false,
    });
  });

  it("treats everything else as transient: drops, timeouts, a live socket closed, a clock off, an impostor", () => {
    for (const end of [
      { phase: "ready" as const, code: CloseCode.deviceRevoked },
      { phase: "ready" as const, code: 1006 },
      { phase: "challenge" as const, code: 1006, httpStatus: 503 },
      { phase: "closed" as const, code: 4010, closedByUs: true, edgeProof: "stale" },
      { phase: "challenge" as const, code: CloseCode.badDeviceProof },
      { phase: "hello" as const, code: CloseCode.badDeviceProof, closedByUs: true },
    ]) {
      expect(classify(end), JSON.stringify(end)).toBeNull();
    }
  });

  it("gives up on an untrusted refusal only when it repeats, in a row", () => {
    const tracker = new RefusalTracker();
    expect(tracker.record("unknown_imp", false)).toBe(false);
    tracker.reset();
    for (let i = 1; i < UNTRUSTED_REPEATS; i++) expect(tracker.record("unknown_imp", false)).toBe(false);
    // Another cause starts the count again.
    for (let i = 1; i < UNTRUSTED_REPEATS; i++) expect(tracker.record("edge_key_mismatch", false)).toBe(false);
    expect(tracker.record("edge_key_mismatch", false)).toBe(true);
    expect(new RefusalTracker().record("device_key_rejected", true)).toBe(true);
  });

  it("says which refusal and what to do, in one line with a distinct exit code each", () => {
    const context = { impId: "imp_1", edgeUrl: "https://edge.example/x", configFile: "device.json" };
    const causes = ["device_revoked", "device_key_rejected", "unknown_imp", "edge_key_mismatch", "protocol_unsupported"] as const;
    const refusals = causes.map((cause) => new PermanentRefusal(cause, context));
    expect(new Set(refusals.map((r) => r.exitCode)).size).toBe(causes.length);
    for (const r of refusals) {
      expect(r.message).not.toContain("\n");
      expect(r.message).toContain("https://edge.example");
    }
    expect(refusals[1]?.message).toContain("impgate-device rekey --config device.json");
  });
});
