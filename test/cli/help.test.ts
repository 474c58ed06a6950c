/**
 * `impgate` as a process, from a folder outside the repository with a fresh config
 * directory: help at every level, --version, typos and unknown options. No edge is needed:
 * all of this is decided before anything is sent.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/program.ts";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { impgate } from "../helpers/cli.ts";

let cwd: string;
let env: Record<string, string>;
const cli = (...args: string[]) => impgate(args, env, cwd);

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "impgate-cli-"));
  env = { XDG_CONFIG_HOME: join(cwd, "config") };
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

describe("impgate's help, version and usage errors", () => {
  it("prints its version", async () => {
    const { version } = JSON.parse(await readFile(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) expect(await cli(flag)).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("has help at every level: a one-line description, and examples for each command", async () => {
    const all = paths(buildProgram());
    expect(all.map((p) => p.join(" "))).toEqual(expect.arrayContaining(["imp", "imp show", "cred add", "agent deploy", "call", "login"]));
    const results: Awaited<ReturnType<typeof cli>>[] = [];
    for (let i = 0; i < all.length; i += 4) results.push(...(await Promise.all(all.slice(i, i + 4).map((p) => cli(...p, "--help")))));
    all.forEach((p, i) => {
      const r = results[i];
      expect(r?.code, `${p.join(" ")} --help: ${r?.stderr}`).toBe(0);
      expect(r?.stdout).toMatch(new RegExp(`^Usage: impgate ${p.join(" ")} `));
      const [, blank, description] = r?.stdout.split("\n") ?? [];
      expect(blank).toBe("");
      expect(description, p.join(" ")).toMatch(/^\S.{10,}/); // one line under the usage line
      const leaf = !/\nCommands:\n/.test(r?.stdout ?? "");
      if (leaf) expect(r?.stdout, p.join(" ")).toMatch(/\nExamples:\n {2}\$ .*impgate /);
    });
    const top = await cli("--help");
    expect(top.stdout).toMatch(/Admin \(over the admin API of an edge\):\n {2}imp +create imps, show them/);
    expect((await cli()).stdout).toBe(top.stdout);
    const imp = await cli("imp", "--help");
    expect(imp.stdout).toMatch(/\n {2}show \[options\] <imp> +the imp, its agent URL and its device's status\n/);
    expect(imp.stdout).not.toMatch(/\n {2}help /);
  });

  it("suggests the command or option meant, and refuses unknown ones with exit 2", async () => {
    expect(await cli("imp", "shwo", "imp_x")).toMatchObject({
      code: 2,
      stderr: "impgate: imp: unknown command 'shwo' (did you mean show?); see `impgate imp --help`\n",
    });
    expect(await cli("imp", "show", "imp_x", "--jsn")).toMatchObject({
      code: 2,
      stderr: "impgate: imp show: unknown option '--jsn' (did you mean --json?); see `impgate imp show --help`\n",
    });
    expect(await cli("nonsense")).toMatchObject({ code: 2, stderr: "impgate: unknown command 'nonsense'; see `impgate --help`\n" });
    expect(await cli("imp", "show")).toMatchObject({
      code: 2,
      stderr: "impgate: imp show: missing required argument 'imp'; see `impgate imp show --help`\n",
    });
    expect((await cli("imp", "show", "imp_a", "imp_b")).stderr).toMatch(/^impgate: imp show: too many arguments/);
    expect((await cli("audit", "imp_x", "--limit", "0")).stderr).toBe("impgate: --limit takes a whole number from 1 to 1000\n");
    const group = await cli("imp");
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/^Usage: impgate imp /);
  });

  it("tells someone who passes the daemon's --config what the admin CLI takes instead", async () => {
    const r = await cli("imp", "show", "imp_x", "--config", "device.json");
    expect(r).toMatchObject({
      code: 2,
      stderr:
        "impgate: --config is the device daemon's (impgate-device --config device.json); the admin CLI finds the edge through a profile: --profile NAME (see impgate login --help)\n",
    });
  });

  it("tells someone who asks the CLI to rotate a device's sealing key where that is done", async () => {
    const r = await cli("e2e", "rotate", "--config", "device.json");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^impgate: the device's encryption key lives on the device, and is rotated there: impgate-device e2e rotate /);
  });

  it("takes ids that begin with '-' as arguments, not as unknown options", async () => {
    // Refused for want of an edge, which means the id got past the parser.
    const r = await cli("cred", "revoke", "imp_x", "-Dxu2b7kFq0tLm9Zz3aBcDeF");
    expect(r.stderr).toMatch(/^impgate: no edge configured/);
    expect((await cli("cred", "revoke", "imp_x", "-D")).stderr).toMatch(/unknown option '-D'/);
  });
});
