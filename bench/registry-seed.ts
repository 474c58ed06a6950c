/** The fleet the registry benchmark seeds (bench/edge/host.ts) and then lists (bench/phases/registry.ts). */

/** Every imp is tagged `batch-<i mod 10>`, every other one `prod` too; one in three is online. */
export function seededTags(i: number): string[] {
  return [...(i % 2 === 0 ? ["prod"] : []), `batch-${i % 10}`];
}

export function seededOnline(i: number): boolean {
  return i % 3 === 0;
}
