/**
 * `impgate-device`: the daemon (run by systemd).
 *   impgate-device --config device.json [--forward http://127.0.0.1:8080]
 *   impgate-device keygen [--out device-key.jwk]   (prints the public key for `impgate imp create`)
 */
import { parseArgs } from "node:util";
import { writeFile } from "node:fs/promises";
import { exportJWK, generateKeyPair } from "jose";
import { ConfigError, loadConfig } from "./config.ts";
import { connect } from "./link.ts";
import { jsonLogger } from "./log.ts";
import { tunnelTo } from "./tunnel.ts";

const USAGE = `usage: impgate-device --config <device.json> [--forward <http://127.0.0.1:PORT>]
       impgate-device keygen [--out <device-key.jwk>]`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "keygen") return keygen(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string", short: "c" }, forward: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || !values.config) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = await loadConfig(values.config);
  const forward = values.forward ?? config.forward;
  if (forward && !/^https?:\/\//.test(forward)) throw new ConfigError(`--forward must be an http:// or https:// URL, got ${forward}`);
  const log = jsonLogger();
  const link = connect(config, forward ? { request: tunnelTo(forward, { maxBodyBytes: config.maxBodyBytes }) } : {}, { log });
  log("info", "daemon started", { impId: config.impId, edge: config.edgeUrl, mode: forward ? "tunnel" : "none", forward });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log("info", "stopping", { signal });
      link.close().then(resolve, resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string", default: "device-key.jwk" } } });
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  await writeFile(values.out!, JSON.stringify(await exportJWK(privateKey)) + "\n", { mode: 0o600, flag: "wx" });
  console.error(`private key written to ${values.out} (keep it on this device)`);
  console.log(JSON.stringify(await exportJWK(publicKey)));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usageError = err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true;
    console.error(`impgate-device: ${usageError ? (err as Error).message : `unexpected error: ${String(err)}`}`);
    process.exit(usageError ? 2 : 1);
  },
);
