import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';

/** Serval: Set Agent Token…: the remote agent's token, kept in SecretStorage for its URL. */
export const setAgentToken = (ctx: Ctx) => async () => {
  const url = requireRemote(ctx);
  const token = await vscode.window.showInputBox({
    title: `Token of ${url}`,
    prompt: 'The token the agent was started with (serval agent --token). It is stored in VS Code\'s secret storage.',
    password: true,
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === '' ? 'The token cannot be empty' : undefined),
  });
  if (token === undefined) return;
  await ctx.tokens.set(url, token.trim());
  ctx.log.info(`Token set for ${url}`);
};

export function requireRemote(ctx: Ctx): string {
  if (!ctx.agents.isRemote) {
    throw new UserFacingError('The local agent needs no token: VS Code gives it one. Tokens are for remote agents (serval.agent.url).');
  }
  return ctx.agents.remoteUrl;
}
