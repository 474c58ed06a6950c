/**
 * Calls into an imp's object go through a facade it hands out per audience
 * (`stub.admin(client)`, `stub.caller(call)`, `stub.agent(version)`:
 * durable-objects/imp-session.ts). `ask` makes one call on one: the facade is not awaited,
 * so Workers RPC pipelines the two and they cost one round trip; and the facade's stub is
 * disposed as soon as the answer is in, so the object holds no facade for a finished call
 * (an object with live stubs into it cannot be evicted). The relay's hot path skips the
 * stub altogether: durable-objects/imp-session.ts, `callerRequest`.
 */

/**
 * @example
 * ```ts
 * const info = orThrow(await ask(stub.caller(call), (caller) => caller.messageStatus(id)));
 * ```
 */
export async function ask<F, R extends PromiseLike<unknown>>(facade: F, call: (facade: F) => R): Promise<Awaited<R>> {
  try {
    return await call(facade);
  } finally {
    // The RPC promise of the facade is disposable whether or not it was awaited.
    (facade as unknown as Disposable)[Symbol.dispose]();
  }
}
