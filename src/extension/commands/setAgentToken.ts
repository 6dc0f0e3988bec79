import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';

/**
 * Serval: Set Agent Token…: the remote agent's token, kept in SecretStorage for its URL, never in
 * settings. Argument: the token (keybindings, automation, tests); without one it is asked for.
 */
export const setAgentToken = (ctx: Ctx) => async (given?: unknown) => {
  const url = requireRemote(ctx);
  const token = typeof given === 'string' ? given : await askForToken(url);
  if (token === undefined) return;
  const problem = validateToken(token);
  if (problem) throw new UserFacingError(`${problem}: nothing was stored.`);
  await ctx.tokens.set(url, token.trim());
  ctx.log.info(`Token set for ${url}`);
  vscode.window.setStatusBarMessage(`$(check) Serval: token stored for ${url}`, 3000);
};

function askForToken(url: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: `Token of ${url}`,
    prompt: "The token the agent was started with (serval agent --token). It is stored in VS Code's secret storage.",
    password: true,
    ignoreFocusOut: true,
    validateInput: validateToken,
  });
}

function validateToken(value: string): string | undefined {
  return value.trim() === '' ? 'The token cannot be empty' : undefined;
}

export function requireRemote(ctx: Ctx): string {
  if (!ctx.agents.isRemote) {
    throw new UserFacingError('The local agent needs no token: VS Code gives it one. Tokens are for remote agents (serval.agent.url).');
  }
  return ctx.agents.remoteUrl;
}
