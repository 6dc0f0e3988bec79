import * as vscode from 'vscode';

import { checkManifest } from '../../manifest';
import { isCancellation } from '../../client/errors';
import { setContext } from '../agent/agents';
import type { Ctx } from '../ctx';
import { describeAgentError } from '../errors';
import { formatRelativeTime, formatSize } from '../format';
import { CONTEXT_VALUES, newestFirst, type ErrorNode, type JobsNode, type ManifestNode, type VersionNode } from './nodes';

/**
 * The Serval view: stored jobs (manifests) and their versions (executables), straight from the agent
 * in use. It re-queries when the agent or the store changes, never on a timer.
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
    ];
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: JobsNode): Promise<JobsNode[]> {
    try {
      if (!node) return await this.manifests();
      if (node.kind === 'manifest') return await this.versions(node);
      return [];
    } catch (error) {
      return [this.errorNode(error)];
    }
  }

  getParent(node: JobsNode): JobsNode | undefined {
    return node.kind === 'version' ? node.manifest : undefined;
  }

  getTreeItem(node: JobsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'manifest':
        return manifestItem(node);
      case 'version':
        return versionItem(node);
      case 'error':
        return errorItem(node);
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private async manifests(): Promise<ManifestNode[]> {
    const client = await this.ctx.client();
    const names = await client.listManifests();
    this.ctx.health.reportSuccess();
    // Drives the welcome view (package.json viewsWelcome), which shows only on an empty tree.
    void setContext('serval.storeEmpty', names.length === 0);
    return Promise.all(names.map((name) => this.manifestNode(name)));
  }

  /** Reads the stored manifest for its description and current version; a failure leaves them out. */
  private async manifestNode(fqName: string): Promise<ManifestNode> {
    try {
      const text = await (await this.ctx.client()).getManifest(fqName);
      const manifest = checkManifest(text).manifest;
      return { kind: 'manifest', fqName, description: manifest?.description, currentVersion: manifest?.version };
    } catch (error) {
      this.ctx.log.warn(`Could not read the stored manifest of ${fqName}: ${describeAgentError(error, this.ctx.agents.label)}`);
      return { kind: 'manifest', fqName };
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

  private errorNode(error: unknown): ErrorNode {
    if (!isCancellation(error)) {
      this.ctx.log.error(`Listing the jobs failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.ctx.health.reportFailure();
    }
    void setContext('serval.storeEmpty', false);
    return { kind: 'error', message: describeAgentError(error, this.ctx.agents.label) };
  }
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
    const manifest = (await provider.getChildren()).find((node) => node.kind === 'manifest' && node.fqName === fqName);
    const target = manifest && (await provider.getChildren(manifest)).find(
      (node) => node.kind === 'version' && node.executable.version === version,
    );
    if (target) await view.reveal(target, { select: true, focus: true, expand: true });
  };
  return { provider, view, revealVersion };
}
