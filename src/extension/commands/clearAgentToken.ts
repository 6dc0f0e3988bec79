import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { requireRemote } from './setAgentToken';

/** Serval: Clear Agent Token: forgets the remote agent's token. */
export const clearAgentToken = (ctx: Ctx) => async () => {
  const url = requireRemote(ctx);
  await ctx.tokens.clear(url);
  ctx.log.info(`Token cleared for ${url}`);
  vscode.window.setStatusBarMessage(`$(check) Serval: token of ${url} cleared`, 3000);
};
