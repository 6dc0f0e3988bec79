import type * as vscode from 'vscode';

const KEY = 'serval.recentJobs';
const MAX_RECENT = 10;

/** Jobs this workspace ran, most recent first, so the job picker offers the last one on top. */
export class RecentJobs {
  constructor(private readonly state: vscode.Memento) {}

  list(): string[] {
    return this.state.get<string[]>(KEY, []);
  }

  async remember(job: string): Promise<void> {
    const next = [job, ...this.list().filter((other) => other !== job)].slice(0, MAX_RECENT);
    await this.state.update(KEY, next);
  }

  /** Orders `jobs` with the recently run ones first (most recent first), the rest as given. */
  order(jobs: readonly string[]): string[] {
    const recent = this.list().filter((job) => jobs.includes(job));
    return [...recent, ...jobs.filter((job) => !recent.includes(job))];
  }
}
