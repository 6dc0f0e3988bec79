import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { AgentClient } from '../../client/client';
import { Config } from '../config';
import { UserFacingError } from '../errors';
import { trustError } from '../trust';
import { normaliseAgentUrl, type AgentTokens } from './agentTokens';
import { describeExit, LocalAgentProcess, type AgentExit } from './localAgentProcess';
import type { ParsedLogLine } from './agentLogLine';

/** The agent the extension talks to: the embedded one, or the one `serval.agent.url` names. */
export interface AgentEndpoint {
  kind: 'local' | 'remote';
  url: string;
  token?: string;
}

/** Bounds every call but a job run, whose length the agent's own time limit bounds. */
const REQUEST_TIMEOUT_MS = 30_000;

export type LocalAgentState = 'stopped' | 'starting' | 'running';

interface AgentsDeps {
  config: Config;
  tokens: AgentTokens;
  log: vscode.LogOutputChannel;
  /** `<extension>/dist/cli.js` */
  cliPath: string;
  /** Where the embedded agent keeps its cacache store. */
  storageDir: string;
}

/**
 * Owns the choice of agent and the embedded agent's process. The embedded agent starts lazily, on
 * first use, and again on the next use after it died; every change fires `onDidChange`.
 */
export class Agents implements vscode.Disposable {
  private local: LocalAgentProcess | undefined;
  private localStarting: Promise<LocalAgentProcess> | undefined;
  /** Set by Stop Local Agent: the agent then stays stopped until the user starts it again. */
  private localStoppedByUser = false;
  /** Set by dispose(): an agent whose start was under way then is stopped as soon as it is up. */
  private disposed = false;
  private cachedClient: { key: string; client: AgentClient } | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly localStateChanged = new vscode.EventEmitter<LocalAgentState>();
  private readonly disposables: vscode.Disposable[] = [this.changed, this.localStateChanged];

  /**
   * Fires when what the agent serves may have changed: another URL or token, the local agent
   * stopped or restarted by the user. Not when the local agent starts lazily or dies: whoever needs
   * it starts it, and listeners that re-query would otherwise restart a failing agent in a loop.
   */
  readonly onDidChange = this.changed.event;
  /** Fires on every start, stop and death of the local agent (status bar, context keys). */
  readonly onDidChangeLocalState = this.localStateChanged.event;

  constructor(private readonly deps: AgentsDeps) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      // The event names the agent by origin (the key of its token), the setting by what the user wrote.
      deps.tokens.onDidChange((origin) => {
        if (this.isRemote && origin === normaliseAgentUrl(this.remoteUrl)) {
          void this.updateContextKeys();
          this.changed.fire();
        }
      }),
    );
    void this.updateContextKeys();
  }

  get isRemote(): boolean {
    return this.remoteUrl !== '';
  }

  get remoteUrl(): string {
    return this.deps.config.agentUrl;
  }

  get localState(): LocalAgentState {
    if (this.local?.isRunning) return 'running';
    return this.localStarting ? 'starting' : 'stopped';
  }

  /** Stop Local Agent was used, and Start Local Agent not since: nothing starts it on use. */
  get isLocalStoppedByUser(): boolean {
    return this.localStoppedByUser && !this.local?.isRunning;
  }

  /** URL of the local agent while it runs; undefined otherwise (nothing is started to find out). */
  get localUrl(): string | undefined {
    return this.local?.isRunning ? this.local.url : undefined;
  }

  /** Process id of the local agent while it runs (logs, tests). */
  get localPid(): number | undefined {
    return this.local?.isRunning ? this.local.pid : undefined;
  }

  /** "the local agent" or the remote URL, for status bar, tree and messages. */
  get label(): string {
    return this.isRemote ? this.remoteUrl : 'the local agent';
  }

  /** Whether a token is stored for the remote agent in use (false for the local agent, which VS Code gives one). */
  async hasRemoteToken(): Promise<boolean> {
    return this.isRemote && (await this.deps.tokens.get(this.remoteUrl)) !== undefined;
  }

  /** The agent in use; starts the embedded agent when it is the one in use and is not running. */
  async getAgent(): Promise<AgentEndpoint> {
    if (this.isRemote) {
      const url = this.remoteUrl;
      return { kind: 'remote', url, token: await this.deps.tokens.get(url) };
    }
    if (this.localStoppedByUser && !this.local?.isRunning) throw new LocalAgentStoppedError();
    const local = await this.startLocal();
    return { kind: 'local', url: local.url, token: local.token };
  }

  async getClient(): Promise<AgentClient> {
    const agent = await this.getAgent();
    const key = `${agent.url}\n${agent.token ?? ''}`;
    if (this.cachedClient?.key !== key) {
      this.cachedClient = { key, client: new AgentClient({ url: agent.url, token: agent.token, timeoutMs: REQUEST_TIMEOUT_MS }) };
    }
    return this.cachedClient.client;
  }

  /** Starts the embedded agent, or returns the running one; concurrent callers share one start. */
  startLocal(): Promise<LocalAgentProcess> {
    if (!this.local?.isRunning && !vscode.workspace.isTrusted) {
      return Promise.reject(trustError('Starting the local agent'));
    }
    if (this.disposed) return Promise.reject(new Error('Serval is shutting down: the local agent is not started again.'));
    this.localStoppedByUser = false;
    if (this.local?.isRunning) return Promise.resolve(this.local);
    if (!this.localStarting) {
      this.localStarting = this.launchLocal().finally(() => {
        this.localStarting = undefined;
        this.fireLocalStateChanged();
      });
      this.fireLocalStateChanged();
    }
    return this.localStarting;
  }

  /** Stop Local Agent: stops it and keeps it stopped until the user starts it again. */
  async stopLocalByUser(): Promise<void> {
    this.localStoppedByUser = true;
    await this.stopLocal();
    this.changed.fire();
  }

  async restartLocal(): Promise<LocalAgentProcess> {
    await this.stopLocal();
    const local = await this.startLocal();
    this.changed.fire();
    return local;
  }

  /**
   * `stop`: the user stops (or restarts) the local agent, the one every window shares.
   * `release`: this window no longer needs it (another window may still use it).
   */
  private async stopLocal(how: 'stop' | 'release' = 'stop'): Promise<void> {
    const local = this.local ?? (await this.localStarting?.catch(() => undefined));
    this.local = undefined;
    if (!local) return;
    this.deps.log.info(how === 'stop' ? 'Stopping the local agent' : 'No longer using the local agent');
    await (how === 'stop' ? local.stop() : local.release());
    this.fireLocalStateChanged();
  }

  dispose(): void {
    // VS Code is closing or the extension is unloading: our own agent gets SIGTERM now, SIGKILL
    // after the grace period; another window's agent keeps serving that window.
    this.disposed = true;
    void this.local?.release();
    this.local = undefined;
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async launchLocal(): Promise<LocalAgentProcess> {
    const { config, log, cliPath, storageDir } = this.deps;
    await fs.mkdir(storageDir, { recursive: true });
    log.info(`Starting the local agent, or using the one another window runs (storage ${storageDir})`);
    const local = await LocalAgentProcess.startOrAttach({
      cliPath,
      storageDir,
      token: randomBytes(24).toString('base64url'),
      jobTimeoutMs: config.jobTimeoutMs,
      jobMemoryMb: config.jobMemoryMb,
      onLog: (line) => this.forwardAgentLog(line),
    });
    if (this.disposed) {
      await local.release();
      throw new Error('Serval is shutting down: the local agent it was starting is stopped.');
    }
    log.info(
      local.owned
        ? `Local agent listening on ${local.url} (pid ${local.pid ?? 'unknown'})`
        : `Using the local agent that another window runs, on ${local.url} (pid ${local.pid ?? 'unknown'}); its log is in that window`,
    );
    local.onUnexpectedExit((exit) => this.onLocalDied(local, exit));
    this.local = local;
    return local;
  }

  private onLocalDied(local: LocalAgentProcess, exit: AgentExit): void {
    if (this.local !== local) return;
    this.local = undefined;
    if (exit.ownerClosed) {
      // Not a failure: the window that ran it closed. The next use starts one on the same store.
      this.deps.log.info('The window whose local agent this window used closed; a new local agent starts when needed');
      this.fireLocalStateChanged();
      return;
    }
    const reason = describeExit(exit);
    this.deps.log.error(`The local agent stopped unexpectedly (${reason})`);
    // Not `changed`: the store is on disk, so what the agent serves is the same, and listeners that
    // re-query (a visible tree) would restart an agent that dies on every request in a loop.
    this.fireLocalStateChanged();
    void vscode.window
      .showWarningMessage(
        `The local Serval agent stopped unexpectedly (${reason}). It will be restarted the next time it is needed.`,
        'Show Log',
      )
      .then((choice) => {
        if (choice === 'Show Log') this.deps.log.show(true);
      });
  }

  private forwardAgentLog({ level, message }: ParsedLogLine): void {
    // The agent's levels are the LogOutputChannel's method names: each line keeps its level.
    this.deps.log[level](`[agent] ${message}`);
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (Config.affectsAgentUrl(event)) {
      this.deps.log.info(`Agent in use: ${this.label}`);
      // A remote agent makes the local one useless; it would only hold memory.
      if (this.isRemote) void this.stopLocal('release');
      void this.updateContextKeys();
      this.changed.fire();
    }
    if (Config.affectsLocalAgentLimits(event) && this.local?.isRunning) void this.offerRestartForLimits();
  }

  private async offerRestartForLimits(): Promise<void> {
    const choice = await vscode.window.showInformationMessage(
      'The job limits of the local Serval agent changed. They take effect when it restarts.',
      'Restart Now',
    );
    if (choice !== 'Restart Now') return;
    await this.restartLocal().catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.deps.log.error(`Restarting the local agent failed: ${message}`);
      void vscode.window.showErrorMessage(`Serval: the local agent did not restart: ${message}`);
    });
  }

  private fireLocalStateChanged(): void {
    void this.updateContextKeys();
    this.localStateChanged.fire(this.localState);
  }

  private async updateContextKeys(): Promise<void> {
    const hasToken = await this.hasRemoteToken();
    await Promise.all([
      setContext('serval.remoteAgent', this.isRemote),
      setContext('serval.localAgentRunning', this.localState === 'running'),
      setContext('serval.hasAgentToken', hasToken),
    ]);
  }
}

/** A use of the local agent after Stop Local Agent: said as such, with the button that starts it. */
export class LocalAgentStoppedError extends UserFacingError {
  constructor() {
    super('The local agent is stopped. Start it with "Serval: Start Local Agent", then try again.', [
      { title: 'Start Local Agent', run: () => vscode.commands.executeCommand('serval.startLocalAgent') },
    ]);
    this.name = 'LocalAgentStoppedError';
  }
}

export function setContext(key: string, value: unknown): Thenable<unknown> {
  return vscode.commands.executeCommand('setContext', key, value);
}

/** The storage folder of the embedded agent, under the extension's global storage. */
export function localAgentStorageDir(globalStorageUri: vscode.Uri): string {
  return path.join(globalStorageUri.fsPath, 'agent');
}
