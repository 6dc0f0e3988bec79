import type { Ctx } from '../ctx';
import { jobOf } from './treeArgument';

/** Tree: delete a job (its manifest and every version), after a modal confirmation. */
export const deleteManifest = (ctx: Ctx) => async (node?: unknown) => {
  const job = await jobOf(ctx, node, 'Delete Job');
  if (!job) return;
  const confirmed = await ctx.confirm({
    message: `Delete ${job} and all its versions from ${ctx.agents.label}?`,
    detail: 'This cannot be undone: publish it again to bring it back.',
    action: 'Delete',
  });
  if (!confirmed) return;
  await (await ctx.client()).deleteManifest(job);
  ctx.log.info(`Deleted ${job}`);
  ctx.fireStoreChanged(job);
};
