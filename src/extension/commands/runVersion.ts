import type { Ctx } from '../ctx';
import { runJobOnEditor } from '../run/runJob';
import { asVersionNode, jobOf } from './treeArgument';

/** Tree: run this version of a job on the active editor. */
export const runVersion = (ctx: Ctx) => async (node?: unknown) => {
  const version = asVersionNode(node);
  if (version) return runJobOnEditor(ctx, { job: version.manifest.fqName, version: version.executable.version });
  const job = await jobOf(ctx, node, 'Run Job on Active File');
  return job ? runJobOnEditor(ctx, { job }) : undefined;
};
