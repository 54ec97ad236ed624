/** What every `xlm-kd` subcommand shares: its streams, and the error type for bad command lines. */

/** The streams a subcommand reads and writes (process's by default; tests pass their own). */
export interface CliIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A bad command line: reported with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
