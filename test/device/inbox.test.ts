import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AgentMessage, Inbox, RetryLater } from "../../device/inbox.ts";
import type { Logger } from "../../device/log.ts";
import { ProcessedMessages } from "../../device/processed-messages.ts";
import type { MessageOf } from "../../protocol/index.ts";
import { eventually } from "../helpers/eventually.ts";

const msg = (id: string, expiresIn = 60_000): MessageOf<"msg"> => ({
  t: "msg",
  id,
  name: "cmd",
  createdAt: 1,
  expiresAt: Date.now() + expiresIn,
  expiresIn,
});
const data = new TextEncoder().encode("x");

const until = (check: () => boolean) => eventually(check, { timeout: 5000, interval: 10 });

describe("device inbox", () => {
  let dir: string;
  const logs: string[] = [];
  const log: Logger = (level, m) => void logs.push(`${level} ${m}`);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-inbox-"));
    logs.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function inbox(handler: (m: AgentMessage) => void | Promise<void>, live: () => boolean = () => true) {
    const acks: string[] = [];
    const expired: string[] = [];
    const box = new Inbox(
      await ProcessedMessages.open(dir),
      handler,
      (id, gone) => {
        acks.push(id);
        if (gone) expired.push(id);
      },
      log,
      live,
    );
    box.newLink();
    return { box, acks, expired };
  }

  it("runs the handler once per message, in order, and acks only after it returned", async () => {
    const handled: string[] = [];
    let acksWhenHandling = -1;
    const { box, acks } = await inbox(async (m) => {
      if (m.id === "b") acksWhenHandling = acks.length;
      await new Promise((r) => setTimeout(r, 5));
      handled.push(m.id);
    });
    for (const id of ["a", "b", "c", "b", "a"]) box.receive(msg(id), data);
    await until(() => acks.length === 5);
    expect(handled).toEqual(["a", "b", "c"]);
    expect(acks).toEqual(["a", "b", "c", "b", "a"]);
    expect(acksWhenHandling).toBe(1);
  });

  it("does not run a handler again after a restart", async () => {
    const first = await inbox(() => {});
    first.box.receive(msg("once"), data);
    await until(() => first.acks.length === 1);
    const handled: string[] = [];
    const second = await inbox((m) => void handled.push(m.id));
    second.box.receive(msg("once"), data);
    await until(() => second.acks.length === 1);
    expect(handled).toEqual([]);
  });

  it("retries a message whose handler asks to, and flags the retry", async () => {
    const seen: boolean[] = [];
    const { box, acks } = await inbox((m) => {
      seen.push(m.redelivered);
      if (seen.length === 1) throw new RetryLater("service down");
    });
    box.receive(msg("r"), data);
    await until(() => acks.length === 1);
    expect(seen).toEqual([false, true]);
  });

  it("counts a message whose handler failed as handled, so the queue moves on", async () => {
    const handled: string[] = [];
    const { box, acks } = await inbox((m) => {
      if (m.id === "bad") throw new Error("bug");
      handled.push(m.id);
    });
    box.receive(msg("bad"), data);
    box.receive(msg("good"), data);
    await until(() => acks.length === 2);
    expect(handled).toEqual(["good"]);
    expect(logs.some((l) => l.startsWith("error message handler failed"))).toBe(true);
  });

  it("drops messages from a link that went away; the edge sends them again", async () => {
    let release!: () => void;
    const handled: string[] = [];
    const { box, acks } = await inbox(async (m) => {
      if (m.id === "slow") await new Promise<void>((r) => (release = r));
      handled.push(m.id);
    });
    box.receive(msg("slow"), data);
    box.receive(msg("stale"), data);
    await until(() => release !== undefined);
    box.newLink();
    release();
    await until(() => acks.length === 1);
    box.receive(msg("stale"), data);
    await until(() => acks.length === 2);
    expect(handled).toEqual(["slow", "stale"]);
  });

  it("never runs a message whose TTL ran out while it waited behind a slow one, and acks it as expired at once", async () => {
    const handled: string[] = [];
    const { box, acks, expired } = await inbox(async (m) => {
      if (m.id === "slow") await new Promise((r) => setTimeout(r, 300));
      handled.push(m.id);
    });
    box.receive(msg("slow"), data);
    box.receive(msg("short", 100), data);
    box.receive(msg("long"), data);
    // Acknowledged as expired while the slow one still runs, so the edge can say so.
    await until(() => acks.length === 1);
    expect(acks).toEqual(["short"]);
    expect(handled).toEqual([]);
    await until(() => acks.length === 3);
    expect(handled).toEqual(["slow", "long"]);
    expect(acks).toEqual(["short", "slow", "long"]);
    expect(expired).toEqual(["short"]);
    expect(logs).toContain("warn message expired while it waited; dropped unhandled");
  });

  it("drops a message that arrives with no time left (sent again after its TTL) unhandled", async () => {
    const handled: string[] = [];
    const { box, acks, expired } = await inbox((m) => void handled.push(m.id));
    box.receive(msg("late", 0), data);
    await until(() => acks.length === 1);
    expect(handled).toEqual([]);
    expect(expired).toEqual(["late"]);
    expect(logs).toContain("warn message expired before its handler could run; dropped unhandled");
  });

  it("starts no handler while its link is dead, and acks nothing: the edge sends it again on the next link", async () => {
    let alive = true;
    const handled: string[] = [];
    let release!: () => void;
    const { box, acks } = await inbox(
      async (m) => {
        if (m.id === "slow") await new Promise<void>((r) => (release = r));
        handled.push(m.id);
      },
      () => alive,
    );
    box.receive(msg("slow"), data);
    box.receive(msg("next"), data);
    await until(() => release !== undefined);
    // The daemon froze here; on waking, its heartbeat finds the link dead before the close is seen.
    alive = false;
    release();
    await until(() => acks.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(handled).toEqual(["slow"]);
    expect(acks).toEqual(["slow"]);
    // The next link brings it again, and it runs then.
    alive = true;
    box.newLink();
    box.receive(msg("next"), data);
    await until(() => acks.length === 2);
    expect(handled).toEqual(["slow", "next"]);
  });

  it("stops retrying a message once its TTL ran out, and never runs it again", async () => {
    let calls = 0;
    const { box, acks, expired } = await inbox(() => {
      calls++;
      throw new RetryLater("service down");
    });
    box.receive(msg("m", 200), data);
    await until(() => acks.length === 1);
    expect(calls).toBe(1);
    expect(expired).toEqual(["m"]);
    // Sent again (say, after a reconnect): recognised, acknowledged, not run.
    box.receive(msg("m"), data);
    await until(() => acks.length === 2);
    expect(calls).toBe(1);
  });

  it("holds the queue, in order, while it cannot write its state file, and goes on once it can", async () => {
    const handled: string[] = [];
    const { box, acks } = await inbox((m) => void handled.push(m.id));
    // A non-empty directory where the file should go: every save fails, even as root.
    await mkdir(join(dir, "processed-messages.json", "blocker"), { recursive: true });
    box.receive(msg("a"), data);
    box.receive(msg("b"), data);
    await until(() => logs.some((l) => l.startsWith("error cannot record message progress")));
    expect(handled).toEqual([]);
    expect(acks).toEqual([]);
    await rm(join(dir, "processed-messages.json"), { recursive: true });
    await until(() => acks.length === 2);
    expect(handled).toEqual(["a", "b"]);
    expect(acks).toEqual(["a", "b"]);
  });
});
