// Starts impgate's entry points.
//
// launchBundled (the `impgate` CLI): one Node process, whichever Node >= 20 runs this. The
// TypeScript sources are bundled by esbuild into dist/ on first use, and again whenever one
// of them changed (a stat per source file tells), so a fresh clone needs no build step and
// an edit is picked up on the next run. Without esbuild it falls back to launch().
//
// launch (the device daemon, and the fallback): Node >= 22.18 runs .ts by stripping types;
// an older Node re-runs the command with the project's own Node 22 from the `node`
// devDependency, so nothing has to be installed by hand.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

// Type stripping (of the sources, and of agent.ts by `impgate agent deploy`) is stable in use but still flagged experimental in Node 22.
function quietTypeStripping() {
  const emit = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    if (/Type Stripping|stripTypeScriptTypes/.test(String(warning))) return;
    return emit.call(process, warning, ...rest);
  };
}

export async function launch(entry) {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) {
    quietTypeStripping();
    await import(entry);
    return;
  }
  const local = join(ROOT, "node_modules", "node", "bin", "node");
  if (!existsSync(local)) {
    console.error(`impgate needs Node >= 22.18 (this is ${process.version}); run \`npm install\` in the project first.`);
    process.exit(1);
  }
  const child = spawn(local, [process.argv[1], ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

export async function launchBundled(name, entry) {
  module.enableCompileCache?.(); // Node >= 22.1: V8's compiled code is reused across runs
  quietTypeStripping();
  let file;
  try {
    file = freshBundle(name) ?? (await buildBundle(name, entry));
  } catch {
    file = undefined; // no esbuild (a production install): run the sources
  }
  if (!file) return launch(pathToFileURL(join(ROOT, entry)).href);
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    // Removed by a concurrent rebuild between reading the manifest and loading it: build it again.
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || existsSync(file)) throw err;
    await import(pathToFileURL((await buildBundle(name, entry)) ?? file).href);
  }
}

/** dist/ in the project; a temp folder if the project is read-only. */
function bundleDirs() {
  return [join(ROOT, "dist", "cli"), join(tmpdir(), `impgate-cli-${process.getuid?.() ?? "user"}`)];
}

/** The bundle named by `<name>.json`, if every file it was built from is unchanged. */
function freshBundle(name) {
  for (const dir of bundleDirs()) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
      if (manifest.root !== ROOT) continue;
      const stale = Object.entries(manifest.inputs).some(([path, mtime]) => statSync(join(ROOT, path)).mtimeMs !== mtime);
      if (!stale && existsSync(join(dir, manifest.bundle))) return join(dir, manifest.bundle);
    } catch {
      // no manifest, or an input is gone: build
    }
  }
  return undefined;
}

async function buildBundle(name, entry) {
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    metafile: true,
    external: ["esbuild"],
    define: { __IMPGATE_ROOT__: JSON.stringify(ROOT) },
    // A CommonJS dependency calls require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __impgateRequire } from 'node:module'; const require = __impgateRequire(import.meta.url);" },
    logLevel: "silent",
  });
  const code = result.outputFiles[0].contents;
  const bundle = `${name}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
  // The project's own files by mtime; dependencies through npm's record of the last install.
  const sources = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith("node_modules/"));
  const inputs = Object.fromEntries(
    [...sources, "package.json", "node_modules/.package-lock.json"]
      .filter((p) => existsSync(join(ROOT, p)))
      .map((p) => [p, statSync(join(ROOT, p)).mtimeMs]),
  );
  for (const dir of bundleDirs()) {
    try {
      mkdirSync(dir, { recursive: true });
      // Written under a content hash and renamed into place: concurrent runs never see half a file.
      const tmp = join(dir, `.${process.pid}.tmp`);
      writeFileSync(tmp, code);
      renameSync(tmp, join(dir, bundle));
      writeFileSync(tmp, JSON.stringify({ root: ROOT, bundle, inputs }));
      renameSync(tmp, join(dir, `${name}.json`));
      removeOldBundles(dir, name, bundle);
      return join(dir, bundle);
    } catch {
      // not writable: the next folder
    }
  }
  return undefined;
}

/** Earlier builds, once no run can still be loading them. */
function removeOldBundles(dir, name, keep) {
  for (const f of readdirSync(dir)) {
    if (f === keep || !f.startsWith(`${name}-`) || !f.endsWith(".mjs")) continue;
    const path = join(dir, f);
    if (Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { force: true });
  }
}
