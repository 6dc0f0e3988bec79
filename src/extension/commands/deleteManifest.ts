import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { jobOf } from './treeArgument';

/** Tree: delete a job (its manifest and every version), after a modal confirmation. */
export const deleteManifest = (ctx: Ctx) => async (node?: unknown) => {
  const job = await jobOf(ctx, node, 'Delete Job');
  if (!job) return;
  const choice = await vscode.window.showWarningMessage(
    `Delete ${job} and all its versions from ${ctx.agents.label}?`,
    { modal: true, detail: 'This cannot be undone: publish it again to bring it back.' },
    'Delete',
  );
  if (choice !== 'Delete') return;
  await (await ctx.client()).deleteManifest(job);
  ctx.log.info(`Deleted ${job}`);
  ctx.fireStoreChanged();
};
