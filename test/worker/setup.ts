/**
 * Before the worker project's test files: the fleet registry's tables (migrations/), applied
 * once per runtime (the project runs with `isolate: false`, so the module below is evaluated
 * once and each file awaits the same promise).
 */
import { migrated } from "./registry-migrations.ts";

await migrated;
