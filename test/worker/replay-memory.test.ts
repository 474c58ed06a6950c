/**
 * The imp's replay memory stays bounded now that a DPoP proof is remembered on every
 * request: full of live entries it refuses a new one (never forgetting a live one early,
 * which would let it be replayed), and it makes room as entries expire, also after a wake.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ReplayMemory } from "../../durable-objects/replay-memory.ts";

describe("replay memory", () => {
  it("refuses new entries while 20,000 live ones fill it, and takes them again once some expire", async () => {
    const stub = env.IMP.getByName(`imp-replay-${crypto.randomUUID()}`);
    await runInDurableObject(stub, (_instance, state) => {
      const memory = new ReplayMemory(state.storage.sql);
      const now = Date.now();
      // 100 entries that expire at once, then live ones up to the bound.
      for (let i = 0; i < 100; i++) expect(memory.remember(`old ${i}`, now + 1)).toBe("fresh");
      for (let i = 100; i < 20_000; i++) memory.remember(`live ${i}`, now + 60_000);
      expect(memory.remember("live 100", now + 60_000)).toBe("replay");
      return new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => {
        // The 100 expired: room for 100 more, then full again; the live ones are still replays.
        for (let i = 0; i < 100; i++) expect(memory.remember(`new ${i}`, Date.now() + 60_000)).toBe("fresh");
        expect(memory.remember("one too many", Date.now() + 60_000)).toBe("full");
        expect(memory.secondsUntilRoom()).toBeGreaterThan(50);
        // A fresh instance (the object woke again) counts the table anew.
        const woken = new ReplayMemory(state.storage.sql);
        expect(woken.remember("one too many", Date.now() + 60_000)).toBe("full");
        expect(woken.remember("live 19999", Date.now() + 60_000)).toBe("replay");
        expect(woken.remember("old 5", Date.now() + 60_000)).toBe("full");
      });
    });
  });
});
