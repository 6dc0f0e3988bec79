import * as vscode from 'vscode';

/**
 * Tokens of remote agents, one per agent URL, in VS Code's SecretStorage (the OS keychain on
 * desktop). They are never written to settings, where they would end up in dotfile repositories.
 */
export class AgentTokens {
  private static readonly KEY_PREFIX = 'serval.agentToken:';

  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(url: string): Thenable<string | undefined> {
    return this.secrets.get(AgentTokens.key(url));
  }

  set(url: string, token: string): Thenable<void> {
    return this.secrets.store(AgentTokens.key(url), token);
  }

  clear(url: string): Thenable<void> {
    return this.secrets.delete(AgentTokens.key(url));
  }

  /** Fires with the agent URL whose token changed. */
  onDidChange(listener: (url: string) => void): vscode.Disposable {
    return this.secrets.onDidChange((event) => {
      if (event.key.startsWith(AgentTokens.KEY_PREFIX)) listener(event.key.slice(AgentTokens.KEY_PREFIX.length));
    });
  }

  /** One key per origin, so `http://box:8100` and `http://box:8100/` share a token. */
  private static key(url: string): string {
    return AgentTokens.KEY_PREFIX + normaliseAgentUrl(url);
  }
}

export function normaliseAgentUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url.trim().replace(/\/+$/, '');
  }
}
