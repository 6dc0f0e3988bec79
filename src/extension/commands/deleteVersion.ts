import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { asVersionNode } from './treeArgument';

/** Tree: delete one version's executable, after a modal confirmation. */
export const deleteVersion = (ctx: Ctx) => async (node?: unknown) => {
  const target = asVersionNode(node);
  if (!target) throw new UserFacingError('Delete Version works on a version in the Serval view: right-click one there.');
  const job = target.manifest.fqName;
  const { version } = target.executable;
  const confirmed = await ctx.confirm({
    message: `Delete version ${version} of ${job} from ${ctx.agents.label}?`,
    detail: target.isCurrent ? 'It is the current version: runs without a version will fail until you publish again.' : undefined,
    action: 'Delete',
  });
  if (!confirmed) return;
  await (await ctx.client()).deleteExecutable(job, version);
  ctx.log.info(`Deleted ${job} ${version}`);
  ctx.fireStoreChanged(job);
};
