import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { RecentJobs } from './recentJobs';

interface JobItem extends vscode.QuickPickItem {
  job: string;
}

/**
 * Quick pick of the stored jobs (from the shared job catalog), the last used first. The names show
 * at once; each job's version and description fill in as its summary arrives (busy meanwhile), so
 * a slow agent never leaves the user looking at nothing.
 */
export interface PickJobOptions {
  /** The job to highlight first (a CodeLens of its manifest). */
  preselect?: string;
}

export async function pickJob(ctx: Ctx, title: string, options: PickJobOptions = {}): Promise<string | undefined> {
  const recent = new RecentJobs(ctx.workspaceState);
  const names = await ctx.catalog.jobNames();
  const jobs = recent.order(names);
  if (jobs.length === 0) {
    throw new UserFacingError('No job is stored on the agent yet: publish one first.', [
      { title: 'Publish Job', run: () => vscode.commands.executeCommand('serval.publish') },
    ]);
  }
  const recentSet = new Set(recent.list());
  const describe = (job: string, version?: string, detail?: string): JobItem => {
    const empty = ctx.catalog.knownVersions(job)?.length === 0;
    const notes = [version, empty ? 'no version stored' : undefined, recentSet.has(job) ? 'recently used' : undefined];
    return { job, label: job, description: notes.filter(Boolean).join(' · '), detail };
  };

  const pick = vscode.window.createQuickPick<JobItem>();
  pick.title = title;
  pick.placeholder = 'Which job?';
  pick.matchOnDetail = true;
  pick.items = jobs.map((job) => describe(job));
  const highlight = (job: string | undefined): void => {
    const item = pick.items.find((candidate) => candidate.job === job);
    if (item) pick.activeItems = [item];
  };
  highlight(options.preselect);
  pick.busy = true;
  let open = true;
  // The catalog reads each summary once for every view: a second picker costs the agent nothing.
  void Promise.all(jobs.map((job) => ctx.catalog.summary(job).catch(() => ({ fqName: job, version: undefined, description: undefined }))))
    .then((summaries) => {
      if (!open) return;
      const active = pick.activeItems[0]?.job ?? options.preselect;
      pick.items = summaries.map((summary) =>
        describe(summary.fqName, 'currentVersion' in summary ? summary.currentVersion : undefined, summary.description),
      );
      // Replacing the items resets the highlight: keep it where the user had moved it.
      highlight(active);
      pick.busy = false;
    });

  try {
    return await new Promise<string | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]?.job));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
  } finally {
    open = false;
    pick.dispose();
  }
}
