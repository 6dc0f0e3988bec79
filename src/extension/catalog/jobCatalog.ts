import * as vscode from 'vscode';

import type { AgentClient } from '../../client/client';
import { NotFoundError } from '../../client/errors';
import type { ExecutableInfo } from '../../client/types';
import { checkManifest } from '../../manifest';
import { newestFirst } from './versions';

const NAMES = 'names';

/** What the stored manifest of a job says, for trees and pickers. */
export interface JobSummary {
  fqName: string;
  /** Undefined when the stored manifest could not be read. */
  description?: string;
  /** The manifest's `version`: the one a run without a version uses. */
  currentVersion?: string;
}

/** Which part of the catalog changed: one job, or (undefined) everything. */
export interface CatalogChange {
  job?: string;
}

interface CatalogDeps {
  /** The client of the agent in use. */
  client(): Promise<AgentClient>;
  /** Fires when another agent (or token) is in use: the whole catalog is another's. */
  onDidChangeAgent: vscode.Event<void>;
  log: vscode.LogOutputChannel;
  /** Called when the agent answered a read: it is up (the health of the agent in use hears it). */
  onAnswered?(): void;
}

/**
 * The jobs stored on the agent in use, fetched once and shared by every view (the Serval tree, the
 * run picker, …): the list of names, each job's manifest summary and its versions, each asked for
 * on first need and kept until the store changes. A change names the job it touched, so a publish
 * re-reads that job only; a Refresh or another agent re-reads everything. Failures are never
 * kept: the next request asks again.
 */
export class JobCatalog implements vscode.Disposable {
  /** Holds the one list of names, under NAMES. */
  private readonly reads = new Map<string, Promise<string[]>>();
  private readonly summaries = new Map<string, Promise<JobSummary>>();
  private readonly versionLists = new Map<string, Promise<ExecutableInfo[]>>();
  /** Version lists that arrived, for synchronous looks (`knownVersions`). */
  private readonly settledVersions = new Map<string, readonly ExecutableInfo[]>();
  private readonly changed = new vscode.EventEmitter<CatalogChange>();
  private readonly subscriptions: vscode.Disposable[];
  /** Fires after `invalidate`: listeners re-read what they show. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly deps: CatalogDeps) {
    this.subscriptions = [this.changed, deps.onDidChangeAgent(() => this.invalidate())];
  }

  /** Fully-qualified names of the stored jobs, sorted. */
  jobNames(): Promise<string[]> {
    return this.remember(this.reads, NAMES, async (client) => [...(await client.listManifests())].sort());
  }

  /** Every stored job with its summary; summaries are read in parallel, once each. */
  async jobs(): Promise<JobSummary[]> {
    return Promise.all((await this.jobNames()).map((name) => this.summary(name)));
  }

  /** The description and current version from a job's stored manifest; an unreadable one leaves them out. */
  summary(fqName: string): Promise<JobSummary> {
    return this.remember(this.summaries, fqName, async (client) => {
      try {
        const manifest = checkManifest(await client.getManifest(fqName)).manifest;
        return { fqName, description: manifest?.description, currentVersion: manifest?.version };
      } catch (error) {
        if (error instanceof NotFoundError) throw error;
        this.deps.log.warn(`Could not read the stored manifest of ${fqName}: ${error instanceof Error ? error.message : String(error)}`);
        return { fqName };
      }
    });
  }

  /** A job's stored versions, newest first. */
  versions(fqName: string): Promise<ExecutableInfo[]> {
    const versions = this.remember(this.versionLists, fqName, async (client) => newestFirst(await client.listExecutables(fqName)));
    void versions.then(
      (list) => {
        if (this.versionLists.get(fqName) === versions) this.settledVersions.set(fqName, list);
      },
      () => undefined,
    );
    return versions;
  }

  /** The versions of a job if they were read already (no request); undefined when not known yet. */
  knownVersions(fqName: string): readonly ExecutableInfo[] | undefined {
    return this.settledVersions.get(fqName);
  }

  /**
   * The store changed: forget one job (and the list of names, which it may have joined or left),
   * or everything. Fires `onDidChange`.
   */
  invalidate(job?: string): void {
    this.reads.clear();
    if (job === undefined) {
      this.summaries.clear();
      this.versionLists.clear();
      this.settledVersions.clear();
    } else {
      this.summaries.delete(job);
      this.versionLists.delete(job);
      this.settledVersions.delete(job);
    }
    this.changed.fire({ job });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  /** The read kept under `key`, or a new one; a failed read is forgotten so that the next call asks again. */
  private remember<T>(cache: Map<string, Promise<T>>, key: string, read: (client: AgentClient) => Promise<T>): Promise<T> {
    const kept = cache.get(key);
    if (kept) return kept;
    const promise = this.deps.client().then(read);
    cache.set(key, promise);
    promise.then(() => this.deps.onAnswered?.(), () => undefined);
    promise.catch(() => {
      if (cache.get(key) === promise) cache.delete(key);
    });
    return promise;
  }
}
