/**
 * The daemon itself: load the config, connect, serve tunnel mode and the events
 * endpoint, and run until a signal or a refusal that retrying cannot fix. Resolves to
 * the process's exit code (refusals.ts lists them).
 */
import { ConfigError, loadConfig, URL_PATH_PATTERN } from "./config.ts";
import { type EventsEndpoint, startEventsEndpoint } from "./events-endpoint.ts";
import { connect } from "./link.ts";
import { DAEMON_AGENT } from "./link-options.ts";
import type { Logger } from "./log.ts";
import { ExitCode, PermanentRefusal } from "./refusals.ts";
import { forwardMessagesTo, tunnelTo } from "./tunnel.ts";

export interface DaemonOptions {
  config: string;
  forward?: string;
  messagesPath?: string;
  eventsPort?: number;
}

export async function runDaemon(options: DaemonOptions, log: Logger): Promise<number> {
  const config = await loadConfig(options.config);
  const forward = options.forward ?? config.forward;
  if (forward && !/^https?:\/\//.test(forward)) throw new ConfigError(`--forward must be an http:// or https:// URL, got ${forward}`);
  const messagePath = options.messagesPath ?? config.messagePath;
  if (!URL_PATH_PATTERN.test(messagePath)) throw new ConfigError(`--messages-path must be an absolute URL path, got ${messagePath}`);
  const eventsPort = options.eventsPort ?? config.eventsPort;

  // Tunnel mode: requests go to the local service, and so do agent messages (POST <messagePath>/<name>).
  const handlers = forward
    ? {
        request: tunnelTo(forward, { maxBodyBytes: config.maxBodyBytes, reservedPath: messagePath }),
        message: forwardMessagesTo(forward, messagePath),
      }
    : {};
  const link = connect(config, handlers, { log, configFile: options.config });
  log("info", "daemon started", {
    version: DAEMON_AGENT,
    impId: config.impId,
    edge: config.edgeUrl,
    mode: forward ? "tunnel" : "none",
    forward,
    stateDir: config.stateDir,
    e2e: config.e2e
      ? {
          senders: config.e2e.senders.length,
          recipients: config.e2e.recipients.length,
          plaintext: config.e2e.allowPlaintext ? "accepted" : "refused",
        }
      : "off",
  });

  let events: EventsEndpoint | undefined;
  if (eventsPort !== undefined) {
    try {
      events = await startEventsEndpoint(link, eventsPort, log);
      log("info", "events endpoint listening", { url: `${events.url}/events/<name>`, port: events.port });
    } catch (err) {
      log("error", `cannot listen for events on 127.0.0.1:${eventsPort}`, { error: (err as NodeJS.ErrnoException).code ?? String(err) });
      await link.close();
      return ExitCode.internal;
    }
  }

  const code = await new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log("info", "stopping", { signal });
      link.close().then(
        () => resolve(ExitCode.stopped),
        () => resolve(ExitCode.stopped),
      );
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    link.once("fatal", (err: Error) => {
      if (err instanceof PermanentRefusal) resolve(err.exitCode);
      else resolve(err instanceof ConfigError ? ExitCode.usage : ExitCode.internal);
    });
  });
  await events?.close();
  return code;
}
