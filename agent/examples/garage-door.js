// @ts-check
/**
 * A garage-door opener, the agent the Electric Imp forums kept asking how to secure.
 * Here it needs no token check of its own: impgate has refused plain HTTP and every
 * caller without a valid credential before this code runs. What is left is the door.
 *
 *   POST /open    asks the device to open the door (POST /door on its local service)
 *   GET  /status  the door as the device last reported it ("door" events), and who opened it last
 */

/** @type {import("../impgate-agent").Agent} */
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/open") {
      if (request.method !== "POST") return Response.json({ error: "use POST" }, { status: 405, headers: { allow: "POST" } });
      const by = request.headers.get("impgate-credential");
      // A request, not a queued message: a door must not open hours later when the device reconnects.
      const res = await env.device.request("/door", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "open", by }),
      });
      console.log(`open requested by ${by}: the device answered ${res.status}`);
      if (!res.ok) return res; // 503 offline, 504 no answer, or the device's own refusal
      await env.state.put("lastOpened", { at: Date.now(), by });
      return Response.json({ door: "opening" });
    }
    if (pathname === "/status" && request.method === "GET") {
      return Response.json({ door: (await env.state.get("door")) ?? "unknown", lastOpened: (await env.state.get("lastOpened")) ?? null });
    }
    return Response.json({ error: "not found" }, { status: 404 });
  },

  async onDeviceEvent(event, env) {
    if (event.name === "door") await env.state.put("door", event.data);
  },
};
