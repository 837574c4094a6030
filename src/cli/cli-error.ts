/** Exit codes of the `walship` command. */
export const ExitCodes = {
  OK: 0,
  /** A runtime failure: the WAL is held or damaged, a server could not start, ... */
  FAILURE: 1,
  /** A usage or config error: unknown command or option, invalid config. */
  USAGE: 2,
} as const;

/** An error the CLI reports as one message on stderr and an exit code (no stack trace). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
