/**
 * `GET /admin/imps/<imp>/tail` (Upgrade: websocket): the imp's live request log, as
 * `impgate tail` reads it. Behind the admin API's authentication (./admin.ts); the admin
 * secret comes in the Authorization header, as on every admin route, never in the URL.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { openTailSocket } from "../tail-socket.ts";

export const tailRoutes = new Hono<AppEnv>();

tailRoutes.get("/", (c) => openTailSocket(c.env, c.req.param("impId") ?? "", c.req.raw));
