/** Errors the CLI prints as one readable line; exit code 2 for a bad command line, else 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
