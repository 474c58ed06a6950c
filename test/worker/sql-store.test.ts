/**
 * A store's schema statements run once per object, and a statement appended in a later
 * release runs on the next wake of every existing object, once: data made before an
 * upgrade survives it.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { SqlStore } from "../../durable-objects/sql-store.ts";

class Probe extends SqlStore {
  rows(): { a: number; b?: number }[] {
    return this.sql.exec<{ a: number; b?: number }>("SELECT * FROM probe").toArray();
  }
}
const probe = (sql: SqlStorage, schema: string[]) => new Probe(sql, "probe", schema);

const V1 = ["CREATE TABLE probe (a INTEGER)", "INSERT INTO probe (a) VALUES (1)"];
// Neither statement can run twice: a second INSERT adds a row, a second ALTER fails.
const V2 = [...V1, "ALTER TABLE probe ADD COLUMN b INTEGER NOT NULL DEFAULT 7"];

describe("a store's schema", () => {
  it("runs each statement once per object, and appended ones on the next wake", async () => {
    const stub = env.IMP.getByName(`sql-store-${crypto.randomUUID()}`);
    expect(await runInDurableObject(stub, (_: ImpSession, state) => probe(state.storage.sql, V1).rows())).toEqual([{ a: 1 }]);
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (_: ImpSession, state) => probe(state.storage.sql, V1).rows())).toEqual([{ a: 1 }]);
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (_: ImpSession, state) => probe(state.storage.sql, V2).rows())).toEqual([{ a: 1, b: 7 }]);
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (_: ImpSession, state) => probe(state.storage.sql, V2).rows())).toEqual([{ a: 1, b: 7 }]);
  });
});
