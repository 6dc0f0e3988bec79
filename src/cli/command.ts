import type { CliIo } from './io';

export interface CommandContext {
  io: CliIo;
  /** Aborted when the user interrupts (Ctrl-C): pending agent calls are cancelled. */
  signal: AbortSignal;
}

/** One `serval <name>` command. */
export interface Command {
  name: string;
  /** One line for `serval --help`. */
  summary: string;
  /** The full text of `serval <name> --help`. */
  help: string;
  /** Resolves to the process exit code; throws CliError (or a client error) on failure. */
  run(args: string[], context: CommandContext): Promise<number>;
}
