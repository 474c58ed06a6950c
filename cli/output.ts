/** Human-readable lines by default, `--json` for scripts. */
export const PROFILE_OPTIONS = {
  profile: { type: "string" },
  edge: { type: "string" },
  "admin-secret": { type: "string" },
  ca: { type: "string" },
  json: { type: "boolean" },
} as const;

export interface Output {
  result(value: unknown, lines: string[]): void;
}

export function output(json: boolean): Output {
  return {
    result(value, lines) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines.join("\n")}\n`);
    },
  };
}
