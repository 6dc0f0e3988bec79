import * as vscode from 'vscode';

export type RunOutputTarget = 'beside' | 'outputChannel';

/**
 * Typed view of the `serval.*` settings. Every getter reads the live configuration, so a value is
 * never stale; `affectsAgent` tells which changes need the agent in use to be reconsidered.
 */
export class Config {
  private static readonly SECTION = 'serval';

  private get settings(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(Config.SECTION);
  }

  /** Remote agent URL without a trailing slash; empty means the local (embedded) agent. */
  get agentUrl(): string {
    return this.settings.get<string>('agent.url', '').trim().replace(/\/+$/, '');
  }

  get jobTimeoutMs(): number {
    return this.settings.get<number>('agent.jobTimeoutMs', 30_000);
  }

  get jobMemoryMb(): number {
    return this.settings.get<number>('agent.jobMemoryMb', 256);
  }

  get runOutput(): RunOutputTarget {
    return this.settings.get<string>('run.output') === 'outputChannel' ? 'outputChannel' : 'beside';
  }

  /** Pause after the last edit before a live run runs again. */
  get liveRunDelayMs(): number {
    return Math.max(0, this.settings.get<number>('run.liveDelayMs', 300));
  }

  get publishConfirm(): boolean {
    return this.settings.get<boolean>('publish.confirm', false);
  }

  get publishPreTask(): string {
    return this.settings.get<string>('publish.preTask', '').trim();
  }

  /** The "Publish" and "Run on…" CodeLens above a manifest's first line. */
  get codeLensEnabled(): boolean {
    return this.settings.get<boolean>('codeLens.enabled', true);
  }

  /** The agent item in the status bar (shown in workspaces with a job manifest). */
  get statusBarEnabled(): boolean {
    return this.settings.get<boolean>('statusBar.enabled', true);
  }

  async setAgentUrl(url: string): Promise<void> {
    // Global, not workspace: the setting is machine-overridable and a workspace should not
    // silently send a user's inputs to another machine.
    // Back to the local agent: remove the setting rather than store an empty string.
    await this.settings.update('agent.url', url === '' ? undefined : url, vscode.ConfigurationTarget.Global);
  }

  static affectsAgentUrl(event: vscode.ConfigurationChangeEvent): boolean {
    return event.affectsConfiguration('serval.agent.url');
  }

  static affectsStatusBar(event: vscode.ConfigurationChangeEvent): boolean {
    return event.affectsConfiguration('serval.statusBar.enabled');
  }

  static affectsCodeLens(event: vscode.ConfigurationChangeEvent): boolean {
    return event.affectsConfiguration('serval.codeLens.enabled');
  }

  static affectsLocalAgentLimits(event: vscode.ConfigurationChangeEvent): boolean {
    return (
      event.affectsConfiguration('serval.agent.jobTimeoutMs') || event.affectsConfiguration('serval.agent.jobMemoryMb')
    );
  }
}
