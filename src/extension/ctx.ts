import * as path from 'node:path';
import * as vscode from 'vscode';

import type { ExtensionInfo } from '../api/contract';
import type { AgentClient } from '../client/client';
import { AgentHealth } from './agent/agentHealth';
import { Agents, localAgentStorageDir } from './agent/agents';
import { AgentTokens } from './agent/agentTokens';
import { JobCatalog } from './catalog/jobCatalog';
import { Config } from './config';
import type { Choice, Confirmation } from './confirm';
import { ManifestDocuments } from './documents/manifestDocuments';
import { OutputDocuments } from './documents/outputDocuments';
import type { CommandFailure, ExtensionHooks, RunRecord } from './hooks';
import { LiveRuns } from './run/liveRun';
import { OutputHeaderProvider } from './run/outputHeader';
import type { RunRequest } from './run/runJob';
import { RunningJobs } from './run/runningJobs';
import { JobsTree } from './tree/jobsTree';
import { WorkspaceJobs } from './workspaceJobs';

/** How long the agent's list of extensions is reused before it is asked again. */
const EXTENSIONS_CACHE_MS = 5_000;

export type { RunRecord } from './hooks';

/**
 * The one context of the extension: it builds and owns every long-lived part (configuration, log,
 * agents and their health, the job catalog, documents, the tree) and every disposable. Everything
 * else receives it; nothing lives in module-level state. The hooks seam (questions to the user,
 * records for tests) is given at construction.
 */
export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly log: vscode.LogOutputChannel;
  readonly tokens: AgentTokens;
  readonly agents: Agents;
  readonly health: AgentHealth;
  /** The jobs on the agent in use: one cached listing shared by the tree and the pickers. */
  readonly catalog: JobCatalog;
  readonly manifestDocuments: ManifestDocuments;
  readonly outputDocuments = new OutputDocuments();
  readonly runningJobs: RunningJobs;
  /** The live run in progress (Run Job Live on Active File). */
  readonly liveRuns: LiveRuns;
  readonly tree: JobsTree;
  /** Whether this workspace has a job manifest (the context key that gates Serval's UI). */
  readonly workspaceJobs: WorkspaceJobs;
  /** The last run, its input pinned to a document or file: Re-run Last Job runs it again. */
  lastRunRequest: RunRequest | undefined;

  private readonly storeChanged = new vscode.EventEmitter<{ job?: string }>();
  /** Fires after this extension changed what the agent stores (publish, delete); `job` when one job changed. */
  readonly onDidChangeStore = this.storeChanged.event;
  private readonly disposables: vscode.Disposable[] = [];
  private extensionsCache: { atMs: number; list: readonly ExtensionInfo[] } | undefined;
  /** The `ExtensionContext.subscriptions` shape, for code that registers its own disposables. */
  readonly subscriptions = { push: (...disposables: vscode.Disposable[]) => this.disposables.push(...disposables) };

  constructor(
    readonly extensionContext: vscode.ExtensionContext,
    private readonly hooks: ExtensionHooks,
  ) {
    this.log = this.push(vscode.window.createOutputChannel('Serval', { log: true }));
    this.tokens = new AgentTokens(extensionContext.secrets);
    this.agents = this.push(
      new Agents({
        config: this.config,
        tokens: this.tokens,
        log: this.log,
        cliPath: path.join(extensionContext.extensionPath, 'dist', 'cli.js'),
        storageDir: localAgentStorageDir(extensionContext.globalStorageUri),
      }),
    );
    this.health = this.push(new AgentHealth(this.agents));
    this.catalog = this.push(
      new JobCatalog({
        client: () => this.agents.getClient(),
        onDidChangeAgent: this.agents.onDidChange,
        log: this.log,
        onAnswered: () => this.health.reportSuccess(),
      }),
    );
    this.manifestDocuments = this.push(new ManifestDocuments(this.agents));
    this.runningJobs = this.push(new RunningJobs());
    this.liveRuns = this.push(new LiveRuns());
    this.push(this.storeChanged, this.outputDocuments);
    this.push(
      this.catalog.onDidChange(({ job }) => this.manifestDocuments.refresh(job)),
      vscode.workspace.registerTextDocumentContentProvider(ManifestDocuments.SCHEME, this.manifestDocuments),
      vscode.workspace.registerTextDocumentContentProvider(OutputDocuments.SCHEME, this.outputDocuments),
      OutputHeaderProvider.register(this.outputDocuments),
    );
    this.workspaceJobs = this.push(new WorkspaceJobs());
    this.tree = this.push(
      new JobsTree({ catalog: this.catalog, agents: this.agents, health: this.health, log: this.log, agentExtensions: () => this.agentExtensions() }),
    );
  }

  get workspaceState(): vscode.Memento {
    return this.extensionContext.workspaceState;
  }

  get globalState(): vscode.Memento {
    return this.extensionContext.globalState;
  }

  /** The client of the agent in use (the local agent is started if needed). */
  /**
   * The extensions of the agent in use, asked again at most every few seconds (the tree, the
   * manifest diagnostics and hovers all read them).
   */
  async agentExtensions(): Promise<readonly ExtensionInfo[]> {
    const now = Date.now();
    const cached = this.extensionsCache;
    if (cached && now - cached.atMs < EXTENSIONS_CACHE_MS) return cached.list;
    const list = await (await this.client()).listExtensions();
    this.extensionsCache = { atMs: now, list };
    return list;
  }

  client(): Promise<AgentClient> {
    return this.agents.getClient();
  }

  /** Publish and delete call this (with the job they touched) so that every view shows what the agent now stores. */
  fireStoreChanged(job?: string): void {
    this.catalog.invalidate(job);
    this.storeChanged.fire({ job });
  }

  /** A modal yes/no question, through the hooks seam. */
  confirm(question: Confirmation): Promise<boolean> {
    return this.hooks.confirm(question);
  }

  /** A modal question with several answers, through the hooks seam; undefined = Cancel. */
  choose(question: Choice): Promise<string | undefined> {
    return this.hooks.choose(question);
  }

  /** A job ran: what the user was shown. */
  recordRun(record: RunRecord): void {
    this.hooks.didRun(record);
  }

  /** A command failed: what the user was told. */
  recordFailure(failure: CommandFailure): void {
    this.hooks.didFail(failure);
  }

  push<T extends vscode.Disposable>(...disposables: [T, ...vscode.Disposable[]]): T {
    this.disposables.push(...disposables);
    return disposables[0];
  }

  dispose(): void {
    // Last in, first out: views go before the agents they query.
    for (const disposable of this.disposables.splice(0).reverse()) {
      try {
        disposable.dispose();
      } catch (error) {
        console.error('Serval: dispose failed', error);
      }
    }
  }
}
