import type { Ctx } from '../ctx';
import { runJobOnEditor } from '../run/runJob';
import { jobOf } from './treeArgument';

/** Tree: run a job (its current version) on the active editor. */
export const runJob = (ctx: Ctx) => async (node?: unknown) => {
  const job = await jobOf(ctx, node, 'Run Job on Active File');
  return job ? runJobOnEditor(ctx, { job }) : undefined;
};
