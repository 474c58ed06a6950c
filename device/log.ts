/**
 * The daemon's log: one line per event, at a level (debug < info < warn < error; lines
 * below the chosen level are dropped). JSON lines (one object per line) for journald and
 * log shippers; readable lines when a person is watching a terminal.
 */
/**
 * How much a line matters; a logger drops lines below its level.
 *
 * @example
 * ```ts
 * import { type Level, makeLogger } from "impgate/device/index.ts";
 * const level: Level = process.env.DEBUG ? "debug" : "info";
 * const log = makeLogger({ level });
 * ```
 */
export type Level = "debug" | "info" | "warn" | "error";

/**
 * Where the link writes its lines: any function of this shape (pass your own to route
 * them into your application's log).
 *
 * @example
 * ```ts
 * import { connect, type Logger } from "impgate/device/index.ts";
 * const log: Logger = (level, msg, fields) => myLog[level](msg, fields);
 * connect(config, handlers, { log });
 * ```
 */
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];
export type LogFormat = "json" | "text";

export interface LoggerOptions {
  /** Lines below this level are dropped. Default: info. */
  level?: Level;
  format?: LogFormat;
  write?: (line: string) => void;
}

export function isLevel(value: string): value is Level {
  return (LEVELS as readonly string[]).includes(value);
}

/**
 * A logger writing one line per event to stdout (or `write`): JSON lines by default,
 * readable ones with `format: "text"`.
 *
 * @example
 * ```ts
 * import { connect, makeLogger } from "impgate/device/index.ts";
 * connect(config, handlers, { log: makeLogger({ level: "warn", format: "text" }) });
 * ```
 */
export function makeLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const format = options.format === "text" ? textLine : jsonLine;
  return (level, msg, fields = {}) => {
    if (LEVELS.indexOf(level) >= min) write(format(level, msg, fields));
  };
}

/**
 * JSON lines at every level (the library's historical default).
 *
 * @example
 * ```ts
 * import { connect, jsonLogger } from "impgate/device/index.ts";
 * connect(config, handlers, { log: jsonLogger((line) => process.stderr.write(line)) });
 * ```
 */
export function jsonLogger(write?: (line: string) => void): Logger {
  return makeLogger({ level: "debug", format: "json", write });
}

export const silentLogger: Logger = () => {};

function jsonLine(level: Level, msg: string, fields: Record<string, unknown>): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`;
}

/** `12:00:01 warn  disconnected code=1006 name="code 1006"`: the time, the level, the message, then key=value. */
function textLine(level: Level, msg: string, fields: Record<string, unknown>): string {
  const time = new Date().toTimeString().slice(0, 8);
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${time} ${level.padEnd(5)} ${msg}${rest ? `  ${rest}` : ""}\n`;
}
