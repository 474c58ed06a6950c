/** Human-readable lines by default, `--json` for scripts. */
export interface Output {
  result(value: unknown, lines: string[]): void;
}

export function output(json: boolean | undefined): Output {
  return {
    result(value, lines) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines.join("\n")}\n`);
    },
  };
}

/** The flags every admin command takes (see adminOptions in command.ts). */
export interface AdminFlags {
  json?: boolean;
  profile?: string;
  edge?: string;
  adminSecret?: string;
  ca?: string;
}
