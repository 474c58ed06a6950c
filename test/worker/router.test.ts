/**
 * The worker's routes fit Hono's RegExpRouter, the fast one. One route whose pattern it
 * cannot take (a `:param` where another route has a fixed segment with more after it, as
 * `/imps/:impId/:action` beside `/imps/:impId/agent/rollback`) makes the whole app fall back
 * to the TrieRouter, for agent URLs too: a few percent more edge CPU on every request.
 */
import { describe, expect, it } from "vitest";
import app from "../../worker/index.ts";
import { edgeFetch } from "./helpers.ts";

describe("the worker's router", () => {
  it("is Hono's RegExpRouter for every route of the edge", async () => {
    await edgeFetch("/agent/agt_x/hello");
    expect(app.router.name).toBe("SmartRouter + RegExpRouter");
  });
});
