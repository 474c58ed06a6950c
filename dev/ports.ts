/** Free loopback ports. */
import { createServer } from "node:net";

/** A free loopback port, found by letting the OS pick one. */
export function freePort(): Promise<number> {
  return bindAndRelease(0);
}

/**
 * A free loopback port below the range the OS hands out for `listen(0)` and for outgoing
 * connections (32768–60999 on Linux). For a server that is bound later, or stopped and bound
 * again on the same port (the tests restart the edge): in the meantime no ephemeral socket of
 * another process can take it.
 */
export async function freeStablePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await isFree(port)) return port;
  }
  return freePort();
}

const isFree = (port: number): Promise<boolean> =>
  bindAndRelease(port).then(
    () => true,
    () => false,
  );

function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(port, "127.0.0.1", () => {
      const { port: bound } = srv.address() as { port: number };
      srv.close(() => resolve(bound));
    });
  });
}
