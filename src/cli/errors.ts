import {
  AgentUnreachableError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  isCancellation,
} from '../client/errors';
import { EXIT } from './exitCodes';

/** A failure the CLI reports as one line on stderr, with the exit code scripts see. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string, command?: string) {
    super(`${message} (see \`serval ${command ? `${command} ` : ''}--help\`)`, EXIT.usage);
  }
}

/** The exit code for any error a command let through. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (isCancellation(error)) return EXIT.interrupted;
  if (error instanceof AgentUnreachableError) return EXIT.agentUnreachable;
  if (error instanceof NotFoundError) return EXIT.notFound;
  if (error instanceof UnauthorizedError || error instanceof ForbiddenError) return EXIT.refused;
  if (isMissingFile(error)) return EXIT.notFound;
  return EXIT.failure;
}

/** The one line shown for an error: typed errors carry a user-ready message already. */
export function messageOf(error: unknown): string {
  if (isCancellation(error)) return 'interrupted';
  // The agent's own 401 body speaks HTTP; say it with the CLI's flag and variable.
  if (error instanceof UnauthorizedError) return tokenMessage(error);
  if (isMissingFile(error)) return `no such file: ${(error as NodeJS.ErrnoException).path ?? 'unknown'}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export function tokenMessage(error: UnauthorizedError): string {
  return /refused|wrong|invalid/i.test(error.message)
    ? 'the agent refused the token: give the one it was started with, with --token T or SERVAL_AGENT_TOKEN'
    : 'the agent needs a token: give it with --token T or SERVAL_AGENT_TOKEN';
}
