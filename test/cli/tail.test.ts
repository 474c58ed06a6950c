/**
 * `impgate tail` as a process, for what is decided before anything is sent: a status
 * filter it cannot read, an agent URL where the imp id belongs, no edge configured. Each
 * is one line. (Against a real edge: test/e2e/tail.test.ts.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { impgate } from "../helpers/cli.ts";

let cwd: string;
let env: Record<string, string>;
const cli = (...args: string[]) => impgate(args, env, cwd);

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "impgate-cli-tail-"));
  env = { XDG_CONFIG_HOME: join(cwd, "config") };
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

const oneLine = (text: string) => text.trim().split("\n");

describe("impgate tail, before it connects", () => {
  it("refuses a status filter it cannot read, with exit 2", async () => {
    const r = await cli("tail", `imp_${"A".repeat(43)}`, "--status", "4xx,4yy");
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([`impgate: --status takes classes like 4xx or statuses like 404, comma-separated (not "4yy")`]);
  });

  it("says so when given an agent URL instead of an imp id, with exit 2", async () => {
    const r = await cli("tail", `https://edge.example/agent/agt_${"B".repeat(64)}`);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([expect.stringMatching(/is an agent URL, not an imp id: `impgate tail` takes the imp id/)]);
  });

  it("says how to configure an edge when none is", async () => {
    const r = await cli("tail", `imp_${"A".repeat(43)}`);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([expect.stringMatching(/^impgate: no edge configured: run `impgate login/)]);
  });
});
