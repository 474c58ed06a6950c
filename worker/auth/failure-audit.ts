/**
 * Failures the worker decides alone (a garbage or forged token, a made-up nonce, a bad
 * DPoP proof, a request outside its token's scope) still belong in the imp's audit log,
 * but must not cost a Durable Object wake-up each: they are batched per imp and written
 * in the background, at most once per window per isolate.
 */

import type { ImpSession } from "../../durable-objects/imp-session.ts";
import type { AgentCall } from "../../edge/agent-call.ts";
import type { FailureEntry } from "../../edge/auth/failures.ts";
import { ask } from "../facade.ts";

const WINDOW_MS = 10_000;
const MAX_BATCH = 50;

interface Batch {
  entries: FailureEntry[];
  dropped: number;
  lastFlush: number;
  scheduled: boolean;
}

const batches = new Map<string, Batch>();

export function auditWorkerFailure(
  waitUntil: (p: Promise<unknown>) => void,
  impId: string,
  stub: DurableObjectStub<ImpSession>,
  call: AgentCall,
  reason: FailureEntry["reason"],
  extra: Pick<FailureEntry, "credId" | "method" | "path"> = {},
): void {
  let batch = batches.get(impId);
  if (!batch) {
    batch = { entries: [], dropped: 0, lastFlush: 0, scheduled: false };
    batches.set(impId, batch);
  }
  if (batch.entries.length < MAX_BATCH) batch.entries.push({ client: call.client, reason, at: Date.now(), ...extra });
  else batch.dropped++;
  if (batch.scheduled) return;
  batch.scheduled = true;
  const wait = Math.max(0, batch.lastFlush + WINDOW_MS - Date.now());
  const b = batch;
  waitUntil(
    new Promise((r) => setTimeout(r, wait))
      .then(async () => {
        const entries = b.entries.splice(0);
        const dropped = b.dropped;
        b.dropped = 0;
        b.scheduled = false;
        b.lastFlush = Date.now();
        if (batches.size > 1000) batches.delete(impId);
        await ask(stub.caller(call), (caller) => caller.recordFailures(entries, dropped));
      })
      .catch(() => {}),
  );
}
