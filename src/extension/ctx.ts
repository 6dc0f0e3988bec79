import * as path from 'node:path';
import * as vscode from 'vscode';

import type { AgentClient } from '../client/client';
import type { RunResult } from '../client/types';
import { AgentHealth } from './agent/agentHealth';
import { Agents, localAgentStorageDir } from './agent/agents';
import { AgentTokens } from './agent/agentTokens';
import { Config } from './config';
import { askModally, type Confirm } from './confirm';
import { ManifestDocuments } from './documents/manifestDocuments';
import { OutputDocuments } from './documents/outputDocuments';
import { RunningJobs } from './run/runningJobs';
import type { JobsTree } from './tree/jobsTree';

/** What the last job run gave; the run command keeps it for "Show Output" and for tests. */
export interface RunRecord {
  job: string;
  version?: string;
  result: RunResult;
  /** The output as text, as shown to the user. */
  output: string;
  /** The warning shown when the run did not succeed. */
  problem?: string;
}

/**
 * The one context of the extension: it owns every disposable, the configuration, the log channel,
 * the agents and the views. Everything else receives it; nothing lives in module-level state.
 */
export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly log: vscode.LogOutputChannel;
  readonly tokens: AgentTokens;
  readonly agents: Agents;
  readonly health: AgentHealth;
  readonly manifestDocuments: ManifestDocuments;
  readonly outputDocuments = new OutputDocuments();
  readonly runningJobs: RunningJobs;
  /** Set once by activate(); commands and tests reach the tree provider and view through it. */
  tree!: JobsTree;
  lastRun: RunRecord | undefined;
  /**
   * Every modal confirmation (delete, stale build, publish) goes through here. Integration tests
   * replace it: a modal dialog cannot be answered from the extension host.
   */
  confirm: Confirm = askModally;
  /** The last failure a command showed to the user (what the notification said); for tests and bug reports. */
  lastFailure: { command: string; message: string } | undefined;

  private readonly storeChanged = new vscode.EventEmitter<void>();
  /** Fires after this extension changed what the agent stores (publish, delete). */
  readonly onDidChangeStore = this.storeChanged.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** The `ExtensionContext.subscriptions` shape, for code that registers its own disposables. */
  readonly subscriptions = { push: (...disposables: vscode.Disposable[]) => this.disposables.push(...disposables) };

  constructor(readonly extensionContext: vscode.ExtensionContext) {
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
    this.manifestDocuments = this.push(new ManifestDocuments(this.agents));
    this.runningJobs = this.push(new RunningJobs());
    this.push(this.storeChanged, this.outputDocuments);
    this.push(
      this.onDidChangeStore(() => this.manifestDocuments.refresh()),
      this.agents.onDidChange(() => this.manifestDocuments.refresh()),
    );
    this.push(
      vscode.workspace.registerTextDocumentContentProvider(ManifestDocuments.SCHEME, this.manifestDocuments),
      vscode.workspace.registerTextDocumentContentProvider(OutputDocuments.SCHEME, this.outputDocuments),
    );
  }

  get workspaceState(): vscode.Memento {
    return this.extensionContext.workspaceState;
  }

  get globalState(): vscode.Memento {
    return this.extensionContext.globalState;
  }

  /** The client of the agent in use (the local agent is started if needed). */
  client(): Promise<AgentClient> {
    return this.agents.getClient();
  }

  /** Publish and delete call this so the tree shows what the agent now stores. */
  fireStoreChanged(): void {
    this.storeChanged.fire();
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
