import {
  AgentClientError,
  AgentUnreachableError,
  ForbiddenError,
  UnauthorizedError,
} from '../client/errors';

/** What the caller knows about the request that failed, for a more precise sentence. */
export interface AgentErrorContext {
  /** Whether the request carried a token; undefined when unknown. */
  tokenSet?: boolean;
}

/**
 * One sentence for a failed call to the agent, with what to do about it in the editor's terms
 * (commands, settings) rather than the CLI's flags that the client's own messages mention.
 */
export function describeAgentError(error: unknown, agentLabel: string, context: AgentErrorContext = {}): string {
  if (error instanceof UnauthorizedError) {
    if (context.tokenSet === false) return `${sentenceStart(agentLabel)} needs a token: set it with "Serval: Set Agent Token…".`;
    if (context.tokenSet === true) {
      return `${sentenceStart(agentLabel)} refused the token it was given: set the right one with "Serval: Set Agent Token…".`;
    }
    return `${sentenceStart(agentLabel)} refused the request: set its token with "Serval: Set Agent Token…".`;
  }
  if (error instanceof ForbiddenError) {
    return `${agentLabel} refused the request (${error.message}). Start it with --allow-host for the name in serval.agent.url.`;
  }
  if (error instanceof AgentUnreachableError) {
    // The client's own hint is for the CLI (`serval agent`); say what to do in the editor instead.
    const what = capitalise(error.message.split(': start one')[0]);
    return agentLabel === 'the local agent'
      ? `${what}. Restart the local agent ("Serval: Restart Local Agent"), then retry.`
      : `${what}. Check that the agent runs and that "serval.agent.url" is right (or switch agents), then retry.`;
  }
  if (error instanceof AgentClientError || error instanceof Error) return error.message;
  return String(error);
}

/** "the local agent" opens a sentence as "The local agent"; a URL stays as it is. */
function sentenceStart(agentLabel: string): string {
  return agentLabel.startsWith('the ') ? `The ${agentLabel.slice(4)}` : agentLabel;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** An error whose message is already meant for the user: shown as is, without a stack in the log. */
export class UserFacingError extends Error {
  constructor(
    message: string,
    /** Buttons offered with the message, and what each does. */
    readonly actions: ReadonlyArray<{ title: string; run: () => unknown }> = [],
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}
