// Starts a TypeScript entry point. Node >= 22.18 runs .ts by stripping types; an older
// Node (this machine has 20) re-runs the command with the project's own Node 22 from the
// `node` devDependency, so nothing has to be installed by hand.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export async function launch(entry) {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) {
    // Type stripping (of the CLI itself, and of agent.ts by `impgate agent deploy`) is stable in use but still flagged experimental in Node 22.
    const emit = process.emitWarning;
    process.emitWarning = (warning, ...rest) => {
      if (/Type Stripping|stripTypeScriptTypes/.test(String(warning))) return;
      return emit.call(process, warning, ...rest);
    };
    await import(entry);
    return;
  }
  const local = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(local)) {
    console.error(`impgate needs Node >= 22.18 (this is ${process.version}); run \`npm install\` in the project first.`);
    process.exit(1);
  }
  const child = spawn(local, [process.argv[1], ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
