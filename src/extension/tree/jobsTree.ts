import * as vscode from 'vscode';

import { checkManifest } from '../../manifest';
import { isCancellation, UnauthorizedError } from '../../client/errors';
import { setContext } from '../agent/agents';
import type { Ctx } from '../ctx';
import { describeAgentError } from '../errors';
import { formatRelativeTime, formatSize, hostOf } from '../format';
import {
  CONTEXT_VALUES,
  newestFirst,
  type AgentNode,
  type ErrorNode,
  type JobsNode,
  type ManifestNode,
  type VersionNode,
} from './nodes';

/**
 * The Serval view: the agent in use, the jobs (manifests) it stores, and their versions (executables),
 * straight from the agent. It re-queries when the agent or the store changes, never on a timer.
 */
export class JobsTreeProvider implements vscode.TreeDataProvider<JobsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<JobsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: Ctx) {
    this.subscriptions = [
      this.changed,
      ctx.agents.onDidChange(() => this.refresh()),
      ctx.onDidChangeStore(() => this.refresh()),
      // A local agent (re)started on use listens on a new port: the agent node shows it.
      ctx.agents.onDidChangeLocalState((state) => {
        if (state === 'running') this.refresh();
      }),
    ];
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: JobsNode): Promise<JobsNode[]> {
    try {
      if (!node) return await this.roots();
      if (node.kind === 'agent') return await Promise.all(node.jobNames.map((name) => this.manifestNode(node, name)));
      if (node.kind === 'manifest') return await this.versions(node);
      return [];
    } catch (error) {
      return [await this.errorNode(error)];
    }
  }

  getParent(node: JobsNode): JobsNode | undefined {
    if (node.kind === 'version') return node.manifest;
    if (node.kind === 'manifest') return node.agent;
    return undefined;
  }

  getTreeItem(node: JobsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'agent':
        return agentItem(node);
      case 'manifest':
        return manifestItem(node);
      case 'version':
        return versionItem(node);
      case 'error':
        return errorItem(node);
    }
  }

  /** The node of one stored version, found from the root as the view finds it (for reveal). */
  async findVersion(fqName: string, version: string): Promise<VersionNode | undefined> {
    const agent = (await this.getChildren()).find((node) => node.kind === 'agent');
    if (!agent?.jobNames.includes(fqName)) return undefined;
    const manifest = (await this.getChildren(agent)).find((node) => node.kind === 'manifest' && node.fqName === fqName);
    if (!manifest) return undefined;
    const versions = await this.getChildren(manifest);
    return versions.find((node): node is VersionNode => node.kind === 'version' && node.executable.version === version);
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  /**
   * One agent node whose children are the jobs; nothing at all when the store is empty, so that the
   * welcome view (package.json viewsWelcome, shown only on an empty tree) offers to publish.
   */
  private async roots(): Promise<AgentNode[]> {
    const agent = await this.ctx.agents.getAgent();
    const names = await (await this.ctx.client()).listManifests();
    this.ctx.health.reportSuccess();
    void setContext('serval.storeEmpty', names.length === 0);
    if (names.length === 0) return [];
    return [{ kind: 'agent', isRemote: agent.kind === 'remote', url: agent.url, hasToken: agent.token !== undefined, jobNames: names }];
  }

  /** Reads the stored manifest for its description and current version; a failure leaves them out. */
  private async manifestNode(agent: AgentNode, fqName: string): Promise<ManifestNode> {
    try {
      const text = await (await this.ctx.client()).getManifest(fqName);
      const manifest = checkManifest(text).manifest;
      return { kind: 'manifest', agent, fqName, description: manifest?.description, currentVersion: manifest?.version };
    } catch (error) {
      this.ctx.log.warn(`Could not read the stored manifest of ${fqName}: ${describeAgentError(error, this.ctx.agents.label)}`);
      return { kind: 'manifest', agent, fqName };
    }
  }

  private async versions(manifest: ManifestNode): Promise<VersionNode[]> {
    const executables = await (await this.ctx.client()).listExecutables(manifest.fqName);
    return newestFirst(executables).map((executable) => ({
      kind: 'version',
      manifest,
      executable,
      isCurrent: executable.version === manifest.currentVersion,
    }));
  }

  private async errorNode(error: unknown): Promise<ErrorNode> {
    if (!isCancellation(error)) {
      this.ctx.log.error(`Listing the jobs failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.ctx.health.reportFailure();
    }
    void setContext('serval.storeEmpty', false);
    const tokenSet = this.ctx.agents.isRemote ? await this.ctx.agents.hasRemoteToken() : undefined;
    return {
      kind: 'error',
      message: describeAgentError(error, this.ctx.agents.label, { tokenSet }),
      needsToken: error instanceof UnauthorizedError && this.ctx.agents.isRemote,
    };
  }
}

function agentItem(node: AgentNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.isRemote ? hostOf(node.url) : 'Local agent', vscode.TreeItemCollapsibleState.Expanded);
  // Stable across restarts of the local agent (new port), so the view keeps its expansion state.
  item.id = node.isRemote ? `agent:${node.url}` : 'agent:local';
  item.contextValue = CONTEXT_VALUES.agent;
  item.iconPath = new vscode.ThemeIcon(node.isRemote ? 'remote' : 'vm');
  item.description = node.isRemote ? 'connected' : hostOf(node.url);
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(node.isRemote ? '**Remote agent**\n\n' : '**Local agent**, run by VS Code\n\n');
  tooltip.appendMarkdown('URL: ').appendText(node.url);
  const jobs = node.jobNames.length;
  tooltip.appendMarkdown(`\n\nToken: ${tokenState(node)}\n\n${jobs} ${jobs === 1 ? 'job' : 'jobs'} stored`);
  item.tooltip = tooltip;
  return item;
}

function tokenState(node: AgentNode): string {
  if (!node.isRemote) return 'generated by VS Code when it started the agent';
  return node.hasToken ? "set (kept in VS Code's secret storage)" : 'not set';
}

function manifestItem(node: ManifestNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.fqName, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `manifest:${node.fqName}`;
  item.contextValue = CONTEXT_VALUES.manifest;
  item.iconPath = new vscode.ThemeIcon('package');
  item.description = node.currentVersion;
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${node.fqName}**`);
  if (node.currentVersion) tooltip.appendMarkdown(` ${node.currentVersion}`);
  if (node.description) tooltip.appendMarkdown('\n\n').appendText(node.description);
  item.tooltip = tooltip;
  return item;
}

function versionItem(node: VersionNode): vscode.TreeItem {
  const { executable, isCurrent } = node;
  const item = new vscode.TreeItem(executable.version, vscode.TreeItemCollapsibleState.None);
  item.id = `version:${node.manifest.fqName}@${executable.version}`;
  item.contextValue = isCurrent ? CONTEXT_VALUES.currentVersion : CONTEXT_VALUES.version;
  item.iconPath = new vscode.ThemeIcon(isCurrent ? 'pass-filled' : 'versions');
  const when = formatRelativeTime(executable.stored_at);
  item.description = `${isCurrent ? 'current · ' : ''}${formatSize(executable.size)} · ${when}`;
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${node.manifest.fqName}** ${executable.version}${isCurrent ? ' (current)' : ''}\n\n`);
  tooltip.appendMarkdown(`Integrity: \`${executable.integrity}\`\n\n`);
  tooltip.appendMarkdown(`Size: ${executable.size} bytes · stored ${executable.stored_at}`);
  item.tooltip = tooltip;
  return item;
}

function errorItem(node: ErrorNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
  item.contextValue = CONTEXT_VALUES.error;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
  item.tooltip = node.message;
  if (node.needsToken) {
    item.command = { command: 'serval.setAgentToken', title: 'Set Agent Token…' };
    item.tooltip = `${node.message}\n\nClick to set the token.`;
  }
  return item;
}

/** The provider and its view, as the Ctx keeps them. */
export interface JobsTree {
  provider: JobsTreeProvider;
  view: vscode.TreeView<JobsNode>;
  /** Shows the view and selects a version (after a publish). */
  revealVersion(fqName: string, version: string): Promise<void>;
}

export function createJobsTree(ctx: Ctx): JobsTree {
  const provider = ctx.push(new JobsTreeProvider(ctx));
  const view = ctx.push(vscode.window.createTreeView('serval.jobs', { treeDataProvider: provider, showCollapseAll: true }));
  const describeAgent = (): void => {
    view.description = ctx.agents.isRemote ? ctx.agents.remoteUrl : 'local agent';
  };
  describeAgent();
  ctx.push(ctx.agents.onDidChange(describeAgent));
  const revealVersion = async (fqName: string, version: string): Promise<void> => {
    await vscode.commands.executeCommand('serval.jobs.focus');
    const target = await provider.findVersion(fqName, version);
    if (target) await view.reveal(target, { select: true, focus: true, expand: true });
  };
  return { provider, view, revealVersion };
}
