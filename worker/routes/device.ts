/**
 * The device link: `GET /device/<impId>/connect?cnonce=…` with `Upgrade: websocket`.
 * The raw request goes to the imp's object, which accepts the socket with the
 * hibernation API and runs the handshake.
 */
import { Hono } from "hono";
import { ImpgateError } from "../../edge/errors.ts";
import type { AppEnv } from "../env.ts";
import { notFound } from "../errors.ts";
import { verifyImpId } from "../ids.ts";

export const deviceRoutes = new Hono<AppEnv>();

deviceRoutes.get("/:impId/connect", async (c) => {
  const impId = await verifyImpId(c.env.AGENT_ID_KEY, c.req.param("impId"));
  if (!impId) return notFound();
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ImpgateError("upgrade_required", "Expected a websocket upgrade", { headers: { Upgrade: "websocket" } });
  }
  return c.env.IMP.getByName(impId).fetch(c.req.raw);
});
