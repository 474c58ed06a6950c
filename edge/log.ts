/**
 * The edge's one logger. Workers logs are JSON-friendly lines; every line names where it
 * came from (`ImpSession:<imp> webSocketMessage`), and nothing secret is ever passed in.
 */
type Level = "debug" | "info" | "warn" | "error";

/** Writes one log line from edge code; the only place edge code may use `console`. */
export function log(level: Level, where: string, message: string, detail?: unknown): void {
  const line = detail === undefined ? `${where}: ${message}` : `${where}: ${message} ${describe(detail)}`;
  // biome-ignore lint/suspicious/noConsole: this is the edge's logger
  console[level](line);
}

function describe(detail: unknown): string {
  if (detail instanceof Error) return detail.stack ?? `${detail.name}: ${detail.message}`;
  try {
    return JSON.stringify(detail);
  } catch {
    return String(detail);
  }
}
