/**
 * Request/reply over a child process's IPC channel: the orchestrator (bench/main.ts) drives
 * the processes it starts (edge hosts, device fleets, relays) with named commands and waits
 * for each answer with a timeout. This is the child's half; bench/processes.ts is the other.
 */
export interface IpcRequest {
  id: number;
  cmd: string;
  args?: unknown;
}

export type IpcMessage = { hello: true } | { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Handlers trust their arguments: only the orchestrator in this folder talks to them. */
export type Handlers = Record<string, (args: never) => unknown>;

/**
 * Answers the orchestrator's commands. `cleanup` runs on "stop" and when the orchestrator
 * goes away (the IPC channel closes), so no child outlives a crashed run.
 */
export function serve(handlers: Handlers, cleanup: () => Promise<void> | void): void {
  const send = process.send?.bind(process);
  if (!send) {
    console.error("this is a bench child process: start it with `npm run bench`");
    process.exit(2);
  }
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await cleanup();
    } finally {
      process.exit(code);
    }
  };
  process.on("message", async (raw: unknown) => {
    const req = raw as IpcRequest;
    if (req.cmd === "stop") {
      await Promise.resolve(cleanup()).catch(() => {});
      send({ id: req.id, ok: true, result: null }, () => process.exit(0));
      return;
    }
    const handler = handlers[req.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${req.cmd}`);
      send({ id: req.id, ok: true, result: await (handler as (args: unknown) => unknown)(req.args) });
    } catch (err) {
      send({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
  process.on("disconnect", () => void stop(1));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop(1));
  send({ hello: true });
}
