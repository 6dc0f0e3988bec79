/**
 * Typed errors of the agent client. Every message is one line a person can act on: the agent's own
 * one-line body when it sent one, else a sentence that says what went wrong and what to do.
 *
 * Callers branch with `instanceof` (or on `status` for HTTP errors) and show `message` as is.
 */

/** Base class of every error the client throws on purpose (cancellation excepted: see isCancellation). */
export class AgentClientError extends Error {
  override name = 'AgentClientError';
}

/** The agent answered, with a status that is not a success for this call. */
export class AgentHttpError extends AgentClientError {
  override name = 'AgentHttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** 400: the request was refused as invalid (bad name, bad TOML, not a WebAssembly module, …). */
export class BadRequestError extends AgentHttpError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

/** 401: the agent needs a token, or refused the one it was given. */
export class UnauthorizedError extends AgentHttpError {
  override name = 'UnauthorizedError';
  constructor(message: string) {
    super(401, message);
  }
}

/** 403: usually a Host header the agent does not accept (see `serval agent --allow-host`). */
export class ForbiddenError extends AgentHttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

/** 404: no such manifest, version or executable. */
export class NotFoundError extends AgentHttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

/** 413: the body (manifest, executable or job input) is over the agent's size limit. */
export class PayloadTooLargeError extends AgentHttpError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(413, message);
  }
}

/** 422: the stored executable is not a runnable WASI command (no _start, unknown imports, …). */
export class NotRunnableError extends AgentHttpError {
  override name = 'NotRunnableError';
  constructor(message: string) {
    super(422, message);
  }
}

/** The agent predates a route this call needs (it answered 404 or 501 for the route itself). */
export class UnsupportedByAgentError extends AgentClientError {
  override name = 'UnsupportedByAgentError';
}

/** Bytes whose SRI integrity is not the one the agent announced: they must not be used. */
export class IntegrityMismatchError extends AgentClientError {
  override name = 'IntegrityMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`the agent sent bytes whose integrity is ${actual}, not the announced ${expected}: try again, and if it persists re-upload the executable`);
  }
}

/** Nothing answers at the URL: refused, unknown host, unreachable network or a dropped connection. */
export class AgentUnreachableError extends AgentClientError {
  override name = 'AgentUnreachableError';
  constructor(
    readonly url: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(`no agent answers at ${url}${detail ? ` (${detail})` : ''}: start one with \`serval agent\` or check the URL`, options);
  }
}

/** The agent did not answer within the call's timeout. */
export class AgentTimeoutError extends AgentUnreachableError {
  override name = 'AgentTimeoutError';
  constructor(
    url: string,
    readonly timeoutMs: number,
  ) {
    super(url, `no answer within ${timeoutMs} ms`);
  }
}

/** The caller aborted the call. Its name is 'AbortError', as for fetch's own aborts. */
export class CancellationError extends Error {
  override name = 'AbortError';
  constructor(options?: { cause?: unknown }) {
    super('the request to the agent was cancelled', options);
  }
}

/** True for a call that the caller cancelled (ours or a platform AbortError): not worth reporting. */
export function isCancellation(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

const GENERIC_REASONS: Record<number, string> = {
  400: 'the agent refused the request as invalid',
  401: 'the agent needs a token: set it with --token or SERVAL_AGENT_TOKEN (in VS Code: Serval: Set Agent Token…)',
  403: 'the agent refused the request: if you reach it by a host name, start it with --allow-host NAME',
  404: 'not found on the agent',
  413: 'the request body is over the agent\'s size limit: send less, or raise the agent\'s --max-body-bytes',
  422: 'the stored executable is not a runnable WASI command',
};

/**
 * The typed error for an answer with `status` and body text `body`. Keeps the agent's one-line message
 * when it sent one; a body that is not one readable line (an HTML error page from a proxy) is replaced
 * by a generic sentence so that callers never show markup.
 */
export function errorForStatus(status: number, body: string): AgentHttpError {
  const message = oneLine(body) ?? GENERIC_REASONS[status] ?? `the agent answered with HTTP status ${status}`;
  switch (status) {
    case 400:
      return new BadRequestError(message);
    case 401:
      return new UnauthorizedError(withTokenHint(message));
    case 403:
      return new ForbiddenError(message);
    case 404:
      return new NotFoundError(message);
    case 413:
      return new PayloadTooLargeError(message);
    case 422:
      return new NotRunnableError(message);
    default:
      return new AgentHttpError(status, message);
  }
}

/** A 401 message must say how to give a token, even when the agent's own message does not. */
function withTokenHint(message: string): string {
  return /token/i.test(message) ? message : `${message}: ${GENERIC_REASONS[401]}`;
}

const MAX_MESSAGE_LENGTH = 500;

function oneLine(body: string): string | undefined {
  const firstLine = body.trim().split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (firstLine === '' || firstLine.startsWith('<')) return undefined;
  return firstLine.length > MAX_MESSAGE_LENGTH ? `${firstLine.slice(0, MAX_MESSAGE_LENGTH)}…` : firstLine;
}
