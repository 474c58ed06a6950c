/**
 * The order test files start in. Files run three at a time, so the run ends when its
 * slowest file does: the slowest start first (by the durations Vitest keeps from earlier
 * runs; on a fresh clone, as in CI, the benchmark smoke test, then the end-to-end files,
 * the larger first). The Workers-runtime files come last and together, so one workerd serves
 * them one after another (a runner is reused only for a file of the same project).
 */
import { stat } from "node:fs/promises";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Without earlier durations: where a file's folder usually puts it. */
const FOLDER_RANK: [RegExp, number][] = [
  [/\/test\/bench\//, 0],
  [/\/test\/e2e\//, 1],
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const durations = new Map(files.map((f) => [f, this.ctx.cache.getTestSpecificationResult(f)?.duration]));
    const allKnown = [...durations.values()].every((d) => d !== undefined);
    const sizes = new Map(await Promise.all(files.map(async (f) => [f, (await stat(f.moduleId)).size] as const)));
    const projectRank = (f: TestSpecification) => (f.project.name === "worker" ? 1 : 0);
    const folderRank = (f: TestSpecification) => FOLDER_RANK.find(([re]) => re.test(f.moduleId))?.[1] ?? FOLDER_RANK.length;
    return [...files].sort(
      (a, b) =>
        projectRank(a) - projectRank(b) ||
        (allKnown
          ? (durations.get(b) ?? 0) - (durations.get(a) ?? 0)
          : folderRank(a) - folderRank(b) || (sizes.get(b) ?? 0) - (sizes.get(a) ?? 0)),
    );
  }
}
