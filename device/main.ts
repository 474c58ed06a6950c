/**
 * `impgate-device`: the daemon (run by systemd).
 *   impgate-device --config device.json [--forward http://127.0.0.1:8080] [--messages-path /_impgate/messages]
 *   impgate-device keygen [--out device-key.jwk]   (prints the public key for `impgate imp create`)
 */

import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import { ConfigError, loadConfig, URL_PATH_PATTERN } from "./config.ts";
import { connect } from "./link.ts";
import { jsonLogger } from "./log.ts";
import { forwardMessagesTo, tunnelTo } from "./tunnel.ts";

const USAGE = `usage: impgate-device --config <device.json> [--forward <http://127.0.0.1:PORT>] [--messages-path </path>]
       impgate-device keygen [--out <device-key.jwk>]`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "keygen") return keygen(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c" },
      forward: { type: "string" },
      "messages-path": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !values.config) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = await loadConfig(values.config);
  const forward = values.forward ?? config.forward;
  if (forward && !/^https?:\/\//.test(forward)) throw new ConfigError(`--forward must be an http:// or https:// URL, got ${forward}`);
  const messagePath = values["messages-path"] ?? config.messagePath;
  if (!URL_PATH_PATTERN.test(messagePath)) throw new ConfigError(`--messages-path must be an absolute URL path, got ${messagePath}`);
  const log = jsonLogger();
  // Tunnel mode: requests go to the local service, and so do agent messages (POST <messagePath>/<name>).
  const handlers = forward
    ? {
        request: tunnelTo(forward, { maxBodyBytes: config.maxBodyBytes, reservedPath: messagePath }),
        message: forwardMessagesTo(forward, messagePath),
      }
    : {};
  const link = connect(config, handlers, { log });
  log("info", "daemon started", {
    impId: config.impId,
    edge: config.edgeUrl,
    mode: forward ? "tunnel" : "none",
    forward,
    stateDir: config.stateDir,
  });

  let exitCode = 0;
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log("info", "stopping", { signal });
      link.close().then(resolve, resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    link.once("fatal", () => {
      exitCode = 1;
      resolve();
    });
  });
  return exitCode;
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string", default: "device-key.jwk" } } });
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  await writeFile(values.out, `${JSON.stringify(await exportJWK(privateKey))}\n`, { mode: 0o600, flag: "wx" });
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
