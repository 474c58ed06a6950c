/**
 * `impgate completion bash|zsh`, loaded into the real shell and asked what it would
 * complete, the way the shell asks it on <Tab>.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { impgate } from "../helpers/cli.ts";

const run = promisify(execFile);
let dir: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "impgate-completion-"));
  config = join(dir, "config");
  for (const name of ["local", "prod"]) await mkdir(join(config, "impgate", "profiles", name), { recursive: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function script(shell: "bash" | "zsh"): Promise<string> {
  const r = await impgate(["completion", shell], { XDG_CONFIG_HOME: config }, dir);
  expect(r.code, r.stderr).toBe(0);
  const file = join(dir, `impgate.${shell}`);
  await writeFile(file, r.stdout);
  return file;
}

async function hasZsh(): Promise<boolean> {
  return run("zsh", ["-c", "true"]).then(
    () => true,
    () => false,
  );
}

// zsh is not on every machine (Debian: apt-get install zsh); where it is, its script is checked too.
const zsh = await hasZsh();

describe("shell completion", () => {
  it("bash: subcommands, the options of the command typed so far, and profile names", async () => {
    const file = await script("bash");
    const complete = async (...words: string[]) => {
      const body = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _impgate; echo "\${COMPREPLY[*]}"`;
      return (await run("bash", ["-c", body], { env: { ...process.env, XDG_CONFIG_HOME: config } })).stdout.trim();
    };
    expect(await complete("impgate", "")).toBe(
      "imp fleet cred audit tail agent caller token code call e2e events login profile edge completion",
    );
    expect(await complete("impgate", "imp", "sh")).toBe("show");
    expect(await complete("impgate", "imp", "set", "imp_x", "--re")).toBe("--request-timeout");
    expect(await complete("impgate", "agent", "logs", "imp_x", "--f")).toBe("--follow");
    expect(await complete("impgate", "audit", "imp_x", "--profile", "")).toBe("local prod");
  });

  it.runIf(zsh)("zsh: the same, with descriptions", async () => {
    const file = await script("zsh");
    // compsys' own functions, reduced to printing what they were given.
    const stubs = `compdef() { :; }; _describe() { print -l -- "\${reply[@]}"; }; compadd() { print -l -- \${(P)2}; }; _files() { print FILES; }`;
    const complete = async (...words: string[]) => {
      const body = `${stubs}; source ${file}; words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; PREFIX='${words.at(-1)}'; _impgate`;
      return (await run("zsh", ["-c", body], { env: { ...process.env, XDG_CONFIG_HOME: config } })).stdout.trim().split("\n");
    };
    expect(await complete("impgate", "imp", "")).toContain("show:the imp, its agent URL and its device's status");
    expect(await complete("impgate", "imp", "show", "imp_x", "--")).toContain("--json:machine-readable output");
    expect(await complete("impgate", "imp", "show", "imp_x", "--profile", "")).toEqual(["local", "prod"]);
  });
});
