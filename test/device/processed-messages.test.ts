import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProcessedMessages, REMEMBERED, StateFileError } from "../../device/processed-messages.ts";

describe("handled message ids on disk", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-state-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("remembers handled ids across a restart", async () => {
    const first = await ProcessedMessages.open(join(dir, "state"));
    await first.begin("a");
    await first.finish("a");
    const again = await ProcessedMessages.open(join(dir, "state"));
    expect(again.has("a")).toBe(true);
    expect(again.has("b")).toBe(false);
    expect(again.interrupted("a")).toBe(false);
  });

  it("remembers a handler that started and never finished, so the message comes back flagged", async () => {
    const first = await ProcessedMessages.open(dir);
    await first.begin("cut-short");
    const again = await ProcessedMessages.open(dir);
    expect(again.has("cut-short")).toBe(false);
    expect(again.interrupted("cut-short")).toBe(true);
  });

  it("keeps the most recent ids only, and leaves no temp files behind", async () => {
    const store = await ProcessedMessages.open(dir);
    for (let i = 0; i < REMEMBERED + 10; i++) await store.finish(`m${i}`);
    const again = await ProcessedMessages.open(dir);
    expect(again.has("m0")).toBe(false);
    expect(again.has(`m${REMEMBERED + 9}`)).toBe(true);
    expect(again.has("m10")).toBe(true);
    expect(await readdir(dir)).toEqual(["processed-messages.json"]);
  });

  it("refuses to start from a damaged file rather than forget what was handled", async () => {
    await writeFile(join(dir, "processed-messages.json"), '{"v":1,"done":["a",');
    await expect(ProcessedMessages.open(dir)).rejects.toThrow(StateFileError);
    await expect(ProcessedMessages.open(dir)).rejects.toThrow(/damaged; move it aside/);
  });
});
