import { describe, expect, it } from "vitest";
import { makeLogger } from "../../device/log.ts";

describe("the daemon's log", () => {
  it("drops lines below the level asked for (default info)", () => {
    const lines: string[] = [];
    const log = makeLogger({ write: (l) => void lines.push(l) });
    log("debug", "noise");
    log("info", "ready", { impId: "imp_1" });
    log("error", "refused");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["ready", "refused"]);
    const quiet: string[] = [];
    makeLogger({ level: "error", write: (l) => void quiet.push(l) })("warn", "dropped");
    expect(quiet).toEqual([]);
  });

  it("writes one JSON object per line for journald, or a readable line for a person", () => {
    const json: string[] = [];
    makeLogger({ format: "json", write: (l) => void json.push(l) })("warn", "disconnected", { code: 1006 });
    expect(JSON.parse(json[0] ?? "")).toMatchObject({ level: "warn", msg: "disconnected", code: 1006 });
    const text: string[] = [];
    makeLogger({ format: "text", write: (l) => void text.push(l) })("warn", "disconnected", { code: 1006, reason: "gone away" });
    expect(text[0]).toMatch(/^\d\d:\d\d:\d\d warn {2}disconnected {2}code=1006 reason="gone away"\n$/);
  });
});
