import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { jobOf } from './treeArgument';

/** Tree: copy the job's fully-qualified name (what `serval run` and keybindings take). */
export const copyName = (ctx: Ctx) => async (node?: unknown) => {
  const job = await jobOf(ctx, node, 'Copy Fully-Qualified Name');
  if (!job) return;
  await vscode.env.clipboard.writeText(job);
  vscode.window.setStatusBarMessage(`$(check) Copied ${job}`, 3000);
};
