import * as vscode from 'vscode';

import { checkManifest } from '../../manifest';
import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { RecentJobs } from './recentJobs';

interface JobItem extends vscode.QuickPickItem {
  job: string;
}

/** Quick pick of the stored jobs, the last used first, each with its description. */
export async function pickJob(ctx: Ctx, title: string): Promise<string | undefined> {
  const client = await ctx.client();
  const recent = new RecentJobs(ctx.workspaceState);
  const jobs = recent.order(await client.listManifests());
  if (jobs.length === 0) {
    throw new UserFacingError('No job is stored on the agent yet: publish one first.', [
      { title: 'Publish Job', run: () => vscode.commands.executeCommand('serval.publish') },
    ]);
  }
  const recentSet = new Set(recent.list());
  const items = await Promise.all(
    jobs.map(async (job): Promise<JobItem> => {
      const manifest = checkManifest(await client.getManifest(job).catch(() => '')).manifest;
      return {
        job,
        label: job,
        description: [manifest?.version, recentSet.has(job) ? 'recently used' : undefined].filter(Boolean).join(' · '),
        detail: manifest?.description,
      };
    }),
  );
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Which job?', matchOnDetail: true });
  return picked?.job;
}
