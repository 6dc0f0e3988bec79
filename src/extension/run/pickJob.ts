import * as vscode from 'vscode';

import type { AgentClient } from '../../client/client';
import { checkManifest } from '../../manifest';
import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { RecentJobs } from './recentJobs';

interface JobItem extends vscode.QuickPickItem {
  job: string;
}

/**
 * Quick pick of the stored jobs, the last used first. The names show at once; each job's version
 * and description fill in as its manifest arrives (busy meanwhile), so a slow agent never leaves
 * the user looking at nothing.
 */
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
  const describe = (job: string, version?: string, detail?: string): JobItem => ({
    job,
    label: job,
    description: [version, recentSet.has(job) ? 'recently used' : undefined].filter(Boolean).join(' · '),
    detail,
  });

  const pick = vscode.window.createQuickPick<JobItem>();
  pick.title = title;
  pick.placeholder = 'Which job?';
  pick.matchOnDetail = true;
  pick.items = jobs.map((job) => describe(job));
  pick.busy = true;
  const loading = new AbortController();
  void Promise.all(jobs.map((job) => manifestSummary(client, job, loading.signal))).then((summaries) => {
    if (loading.signal.aborted) return;
    const active = pick.activeItems[0]?.job;
    pick.items = summaries.map(({ job, version, description }) => describe(job, version, description));
    // Replacing the items resets the highlight: keep it where the user had moved it.
    const stillActive = pick.items.find((item) => item.job === active);
    if (stillActive) pick.activeItems = [stillActive];
    pick.busy = false;
  });

  try {
    return await new Promise<string | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]?.job));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
  } finally {
    loading.abort();
    pick.dispose();
  }
}

async function manifestSummary(client: AgentClient, job: string, signal: AbortSignal) {
  const text = await client.getManifest(job, { signal }).catch(() => '');
  const manifest = checkManifest(text).manifest;
  return { job, version: manifest?.version, description: manifest?.description };
}
