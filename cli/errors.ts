/** Errors the CLI prints as one readable line; `usage` ones exit 2, the rest 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function usage(message: string): CliError {
  return new CliError(message, 2);
}
