/**
 * A store in an object's SQLite storage (the message queue, events, agent state, …), its
 * tables brought up to date when the object wakes. A store lists its schema as SQL
 * statements, oldest first; each runs once per object, and how many have run is kept in
 * `schema_steps`, so a later statement may change what an earlier one made (a new column,
 * a new index, a backfill). Never edit or reorder a statement that shipped: append one.
 * (The first statements of every store are `IF NOT EXISTS`, so objects made before this
 * bookkeeping existed take them up without harm.)
 */

/** How many statements of each store already ran, per storage: read once per wake. */
const applied = new WeakMap<SqlStorage, Map<string, number>>();

function appliedSteps(sql: SqlStorage): Map<string, number> {
  let steps = applied.get(sql);
  if (!steps) {
    sql.exec("CREATE TABLE IF NOT EXISTS schema_steps (store TEXT PRIMARY KEY, done INTEGER NOT NULL)");
    steps = new Map(
      sql
        .exec<{ store: string; done: number }>("SELECT store, done FROM schema_steps")
        .toArray()
        .map((r) => [r.store, r.done]),
    );
    applied.set(sql, steps);
  }
  return steps;
}

export abstract class SqlStore {
  protected readonly sql: SqlStorage;

  /** `store` names the store in `schema_steps`; `schema` is its statements, oldest first. */
  constructor(sql: SqlStorage, store: string, schema: readonly string[]) {
    this.sql = sql;
    const steps = appliedSteps(sql);
    const done = steps.get(store) ?? 0;
    if (done >= schema.length) return;
    for (const statement of schema.slice(done)) sql.exec(statement);
    sql.exec("INSERT OR REPLACE INTO schema_steps (store, done) VALUES (?, ?)", store, schema.length);
    steps.set(store, schema.length);
  }
}
