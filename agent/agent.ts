/**
 * An impgate agent. It runs at the edge for one imp, after impgate has checked that the
 * request came over HTTPS from an authenticated caller.
 *   npx impgate agent deploy <imp> agent.ts      then      npx impgate agent logs <imp>
 * (The CLI strips the types; only erasable TypeScript syntax, as with Node's type stripping.)
 */
import type { Agent } from "./impgate-agent.d.ts";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/status") {
      return Response.json({ status: (await env.state.get<string>("status")) ?? "unknown" });
    }
    if (request.method === "POST" && url.pathname === "/ping") {
      // Straight to the device; 503 if it is offline, 504 if it does not answer in time.
      return env.device.request("/ping", { method: "POST" });
    }
    return Response.json({ error: "not found" }, { status: 404 });
  },

  async onDeviceEvent(event, env) {
    console.log(`event ${event.name}`, event.data);
    if (event.name === "status") await env.state.put("status", event.data);
  },

  // The device came online; it went offline, and why: "closed", "silent" (no heartbeat for
  // the imp's presence timeout: a power cut, a dead Wi-Fi), "replaced" or "revoked".
  onDeviceConnect() {
    console.log("device online");
  },
  onDeviceDisconnect({ reason }) {
    console.log(`device offline: ${reason}`);
  },
} satisfies Agent;
