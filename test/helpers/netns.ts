/**
 * A private network for one device (Linux, as root): a network namespace joined to this
 * one by a veth pair, so a test can cut the device's link. With `nft` (nftables) there,
 * a drop rule on the namespace's end of the veth, both ways, cuts it as a NAT that forgot
 * the connection does: the link stays up, every packet vanishes, no FIN, no RST, nothing
 * for either side's kernel to report. Without `nft`, the veth is set down instead (packets
 * dropped too, but the link's carrier goes). The rule lives in the namespace, so the
 * host's own firewall is never touched, and goes with it.
 *
 * Inside the namespace `localhost` names this side of the veth (an /etc/netns hosts
 * file, which `ip netns exec` mounts over /etc/hosts), so a device config made for
 * `https://localhost:PORT` reaches a TCP relay there, which passes the bytes on to the
 * edge on loopback: the edge itself keeps listening on loopback only.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface DeviceNetwork {
  /** The namespace's name, for `ip netns exec`. */
  name: string;
  /** This side's address on the veth, where the namespace's `localhost` points. */
  hostAddress: string;
  /** Relays `hostAddress:port` to `127.0.0.1:port` (the edge, a local service). */
  relay(port: number): Promise<void>;
  /** How `setLink(false)` cuts the link: an nftables drop rule, or the veth set down. */
  cutBy: "nft drop rule" | "veth down";
  /** Cuts the link (every packet dropped, no FIN, no RST), or mends it. */
  setLink(up: boolean): Promise<void>;
  remove(): Promise<void>;
}

/** Why a device network cannot be made here, or null if it can. */
export async function deviceNetworkUnavailable(): Promise<string | null> {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root";
  try {
    await run("ip", ["netns", "list"]);
  } catch {
    return "no `ip` command (iproute2)";
  }
  return null;
}

export async function makeDeviceNetwork(): Promise<DeviceNetwork> {
  // Names and a /30 of their own, so files running at once never collide.
  const tag = `${process.pid % 10_000}${Math.floor(Math.random() * 100)}`;
  const name = `impgate-${tag}`;
  const [outer, inner] = [`ig${tag}a`, `ig${tag}b`];
  // 10.200.0.0 to 10.255.255.255: 56 × 256 blocks, so the second octet never passes 255.
  const block = Math.floor(Math.random() * 56 * 256);
  const base = `10.${200 + (block >> 8)}.${block & 255}`;
  const hostAddress = `${base}.1`;
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const hostsDir = `/etc/netns/${name}`;
  const withNft = await run("nft", ["--version"]).then(
    () => true,
    () => false,
  );

  const remove = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await run("ip", ["link", "del", outer]).catch(() => {});
    await run("ip", ["netns", "del", name]).catch(() => {});
    await rm(hostsDir, { recursive: true, force: true });
  };
  try {
    await run("ip", ["netns", "add", name]);
    await run("ip", ["link", "add", outer, "type", "veth", "peer", "name", inner]);
    await run("ip", ["link", "set", inner, "netns", name]);
    await run("ip", ["addr", "add", `${hostAddress}/30`, "dev", outer]);
    await run("ip", ["link", "set", outer, "up"]);
    for (const args of [
      ["addr", "add", `${base}.2/30`, "dev", inner],
      ["link", "set", inner, "up"],
      ["link", "set", "lo", "up"],
    ]) {
      await run("ip", ["netns", "exec", name, "ip", ...args]);
    }
    await mkdir(hostsDir, { recursive: true });
    await writeFile(`${hostsDir}/hosts`, `${hostAddress} localhost\n`);
    if (withNft) {
      // Chains on the veth's own ingress and egress, empty (accept) until the link is cut.
      const nft = (command: string) => run("ip", ["netns", "exec", name, "nft", command]);
      await nft("add table netdev impgate");
      for (const [chain, hook] of [
        ["in", "ingress"],
        ["out", "egress"],
      ]) {
        await nft(`add chain netdev impgate ${chain} { type filter hook ${hook} device "${inner}" priority 0; policy accept; }`);
      }
    }
  } catch (err) {
    await remove();
    throw err;
  }

  return {
    name,
    hostAddress,
    relay: (port) =>
      new Promise((resolve, reject) => {
        const server = net.createServer((inbound) => {
          const outbound = net.connect(port, "127.0.0.1");
          for (const s of [inbound, outbound]) {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
            s.on("error", () => {
              inbound.destroy();
              outbound.destroy();
            });
          }
          inbound.pipe(outbound).pipe(inbound);
        });
        servers.push(server);
        server.once("error", reject);
        server.listen(port, hostAddress, () => resolve());
      }),
    cutBy: withNft ? "nft drop rule" : "veth down",
    setLink: async (up) => {
      if (!withNft) {
        await run("ip", ["link", "set", outer, up ? "up" : "down"]);
        return;
      }
      for (const chain of ["in", "out"]) {
        const nft = up ? ["flush", "chain", "netdev", "impgate", chain] : ["add", "rule", "netdev", "impgate", chain, "drop"];
        await run("ip", ["netns", "exec", name, "nft", ...nft]);
      }
    },
    remove,
  };
}
