/**
 * Failures the worker decides alone (a garbage or forged token, a made-up nonce, a bad
 * DPoP proof, a request outside its token's scope) still belong in the imp's audit log,
 * but must not cost a Durable Object wake-up each: they are batched per imp and written
 * in the background, at most once per window per isolate (../imp-batches.ts).
 */

import type { ImpSession } from "../../durable-objects/imp-session.ts";
import type { AgentCall } from "../../edge/agent-call.ts";
import type { FailureEntry } from "../../edge/auth/failures.ts";
import { ask } from "../facade.ts";
import { ImpBatches } from "../imp-batches.ts";

const batches = new ImpBatches<FailureEntry>({ windowMs: 10_000, maxItems: 50 });

export function auditWorkerFailure(
  waitUntil: (p: Promise<unknown>) => void,
  impId: string,
  stub: DurableObjectStub<ImpSession>,
  call: AgentCall,
  reason: FailureEntry["reason"],
  extra: Pick<FailureEntry, "credId" | "method" | "path"> = {},
): void {
  const entry = { client: call.client, reason, at: Date.now(), ...extra };
  batches.add(waitUntil, impId, entry, (entries, dropped) => ask(stub.caller(call), (caller) => caller.recordFailures(entries, dropped)));
}
