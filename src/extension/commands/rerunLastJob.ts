import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { runJob } from '../run/runJob';

/** Serval: Re-run Last Job: the same job and version on the same input (document, selection or file). */
export const rerunLastJob = (ctx: Ctx) => async () => {
  const last = ctx.lastRunRequest;
  if (!last) {
    throw new UserFacingError('No job has run in this window yet: run one first.', [
      { title: 'Run Job on Active File', run: () => vscode.commands.executeCommand('serval.runOnActiveFile') },
    ]);
  }
  return runJob(ctx, last);
};
