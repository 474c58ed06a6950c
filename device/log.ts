/**
 * The daemon's log: one line per event, at a level (debug < info < warn < error; lines
 * below the chosen level are dropped). JSON lines (one object per line) for journald and
 * log shippers; readable lines when a person is watching a terminal.
 */
export type Level = "debug" | "info" | "warn" | "error";
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

export function makeLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const format = options.format === "text" ? textLine : jsonLine;
  return (level, msg, fields = {}) => {
    if (LEVELS.indexOf(level) >= min) write(format(level, msg, fields));
  };
}

/** JSON lines at every level (the library's historical default). */
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
