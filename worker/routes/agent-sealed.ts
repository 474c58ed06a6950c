/**
 * End-to-end sealed traffic, for callers of an agent URL (after the agent router's id
 * check, body limit and caller authentication, as every agent path):
 *   GET  /agent/<id>/_sealed/key   → the device's signed key statement (a compact JWS)
 *   POST /agent/<id>/_sealed       body = a sealed request (application/impgate-sealed-request)
 *        → the device's reply as it sent it: 200 and the sealed response, or its refusal
 * The edge checks who is calling, the rate limits and the size, and relays bytes it cannot
 * read, to the device and never to agent code (durable-objects/sealed-relay.ts). Sealed
 * messages go through `POST _messages` with their own media type (agent-messages.ts).
 */
import { Hono } from "hono";
import type { RelayReply } from "../../edge/agent-call.ts";
import { ImpgateError, orThrow } from "../../edge/errors.ts";
import { isMediaType, KEY_STATEMENT_MEDIA_TYPE, SEALED_MEDIA_TYPES } from "../../protocol/sealed/media-types.ts";
import type { AgentEnv } from "../env.ts";
import { noStore } from "../middleware/no-store.ts";
import { replyResponse } from "../relay.ts";
import { asCaller, methodNotAllowed, noSuchApiPath } from "./agent-target.ts";

export const agentSealedRoutes = new Hono<AgentEnv>();

agentSealedRoutes.use("/:agentId/_sealed", noStore);
agentSealedRoutes.use("/:agentId/_sealed/*", noStore);

agentSealedRoutes.get("/:agentId/_sealed/key", async (c) => {
  const statement = await asCaller(c, (caller) => caller.sealedKey());
  return c.body(statement, 200, { "content-type": KEY_STATEMENT_MEDIA_TYPE });
});

agentSealedRoutes.post("/:agentId/_sealed", async (c) => {
  if (!isMediaType(c.req.header("content-type"), SEALED_MEDIA_TYPES.request)) {
    throw new ImpgateError("bad_content_type", `POST _sealed takes ${SEALED_MEDIA_TYPES.request}`);
  }
  const { agent, call } = c.var;
  // The body limit (the agent router's) was applied before this; the bytes are opaque here.
  const sealed = new Uint8Array(await c.req.arrayBuffer());
  const reply = orThrow(await agent.stub.callerSealed(call, sealed));
  return replyResponse(reply as RelayReply, { noStore: true });
});

agentSealedRoutes.all("/:agentId/_sealed", methodNotAllowed("POST"));
agentSealedRoutes.all("/:agentId/_sealed/key", methodNotAllowed("GET"));
agentSealedRoutes.all("/:agentId/_sealed/*", noSuchApiPath);
