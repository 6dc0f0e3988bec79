import * as vscode from 'vscode';

import type { ExtensionInfo } from '../../api/contract';
import { isCancellation, UnauthorizedError } from '../../client/errors';
import type { AgentHealth, AgentHealthState } from '../agent/agentHealth';
import { setContext, type Agents } from '../agent/agents';
import type { JobCatalog } from '../catalog/jobCatalog';
import { describeAgentError } from '../errors';
import { formatRelativeTime, formatSize, hostOf } from '../format';
import {
  CONTEXT_VALUES,
  type AgentNode,
  type ErrorNode,
  type ExtensionNode,
  type ExtensionsNode,
  type JobsNode,
  type ManifestNode,
  type NoticeNode,
  type VersionNode,
} from './nodes';

/** What the tree reads from: the job catalog it shares with the run picker, the agents, their health. */
export interface JobsTreeDeps {
  catalog: JobCatalog;
  /** The extensions of the agent in use (GET /v1/extensions). */
  agentExtensions: () => Promise<readonly ExtensionInfo[]>;
  agents: Agents;
  health: AgentHealth;
  log: vscode.LogOutputChannel;
}

/**
 * The Serval view: the agent in use, the jobs (manifests) it stores, and their versions
 * (executables), from the shared job catalog. It re-reads when the catalog changes (publish, delete,
 * Refresh, another agent, the agent back after a failure) and re-draws the agent row when its
 * health changes; the catalog keeps what it read, so a re-draw costs the agent nothing.
 */
export class JobsTreeProvider implements vscode.TreeDataProvider<JobsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<JobsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly deps: JobsTreeDeps) {
    this.subscriptions = [
      this.changed,
      deps.catalog.onDidChange(() => this.redraw()),
      deps.health.onDidChange(() => this.redraw()),
      deps.health.onDidReconnect(() => deps.catalog.invalidate()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => deps.catalog.invalidate()),
      // A local agent (re)started on use listens on a new port: the agent node shows it.
      deps.agents.onDidChangeLocalState((state) => {
        if (state === 'running' || state === 'stopped') this.redraw();
      }),
    ];
  }

  /** Serval: Refresh: forget what the catalog read and ask the agent again. */
  refresh(): void {
    this.deps.catalog.invalidate();
  }

  /** Draws again from the catalog (which asks the agent only for what it does not hold). */
  redraw(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: JobsNode): Promise<JobsNode[]> {
    try {
      if (!node) return await this.roots();
      if (node.kind === 'agent') return [...(await Promise.all(node.jobNames.map((name) => this.manifestNode(node, name)))), ...(await this.extensionsNode(node))];
      if (node.kind === 'extensions') return node.extensions.map((info) => ({ kind: 'extension', parent: node, info }));
      if (node.kind === 'manifest') return await this.versions(node);
      return [];
    } catch (error) {
      return [await this.errorNode(error)];
    }
  }

  getParent(node: JobsNode): JobsNode | undefined {
    if (node.kind === 'version') return node.manifest;
    if (node.kind === 'manifest') return node.agent;
    if (node.kind === 'notice') return node.manifest;
    if (node.kind === 'extensions') return node.agent;
    if (node.kind === 'extension') return node.parent;
    return undefined;
  }

  getTreeItem(node: JobsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'agent':
        return agentItem(node, this.deps.health.state);
      case 'manifest':
        return manifestItem(node);
      case 'version':
        return versionItem(node);
      case 'error':
        return errorItem(node);
      case 'notice':
        return noticeItem(node);
      case 'extensions':
        return extensionsItem(node);
      case 'extension':
        return extensionItem(node);
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
   * welcome view (package.json viewsWelcome, shown only on an empty tree) offers to publish. A
   * local agent the user stopped is not started to list it: a row says so and starts it on a click.
   */
  private async roots(): Promise<Array<AgentNode | NoticeNode>> {
    const { agents, catalog } = this.deps;
    if (!agents.isRemote && agents.isLocalStoppedByUser) {
      void setContext('serval.storeEmpty', false);
      return [notice('localAgentStopped')];
    }
    if (!agents.isRemote && agents.localUrl === undefined && !vscode.workspace.isTrusted) {
      void setContext('serval.storeEmpty', false);
      return [notice('untrusted')];
    }
    // Listing is a use (it starts the local agent); a re-draw from the catalog's copy is not.
    const names = await catalog.jobNames();
    void setContext('serval.storeEmpty', names.length === 0);
    if (names.length === 0) return [];
    const isRemote = agents.isRemote;
    const url = isRemote ? agents.remoteUrl : (agents.localUrl ?? '');
    const hasToken = isRemote ? await agents.hasRemoteToken() : true;
    return [{ kind: 'agent', isRemote, url, hasToken, jobNames: names }];
  }

  /** The agent's extensions as one group row, or nothing when it has none (or cannot say). */
  private async extensionsNode(agent: AgentNode): Promise<ExtensionsNode[]> {
    const extensions = await this.deps.agentExtensions().catch(() => []);
    return extensions.length === 0 ? [] : [{ kind: 'extensions', agent, extensions }];
  }

  private async manifestNode(agent: AgentNode, fqName: string): Promise<ManifestNode> {
    const { description, currentVersion } = await this.deps.catalog.summary(fqName);
    const isEmpty = this.deps.catalog.knownVersions(fqName)?.length === 0;
    return { kind: 'manifest', agent, fqName, description, currentVersion, isEmpty };
  }

  private async versions(manifest: ManifestNode): Promise<Array<VersionNode | NoticeNode>> {
    const executables = await this.deps.catalog.versions(manifest.fqName);
    if (executables.length === 0) {
      // The row of the job says "no versions" too, once it knows.
      if (!manifest.isEmpty) this.changed.fire(manifest);
      return [noVersionNotice(manifest)];
    }
    return executables.map((executable) => ({
      kind: 'version',
      manifest,
      executable,
      isCurrent: executable.version === manifest.currentVersion,
    }));
  }

  private async errorNode(error: unknown): Promise<ErrorNode> {
    const { agents, health, log } = this.deps;
    if (!isCancellation(error)) {
      log.warn(`Listing the jobs failed: ${error instanceof Error ? error.message : String(error)}`);
      // Health checks again unless it knows already; its answer re-draws the tree.
      if (health.state.kind === 'ok' || health.state.kind === 'unknown') health.reportFailure();
    }
    void setContext('serval.storeEmpty', false);
    const tokenSet = agents.isRemote ? await agents.hasRemoteToken() : undefined;
    return {
      kind: 'error',
      message: describeAgentError(error, agents.label, { tokenSet }),
      needsToken: error instanceof UnauthorizedError && agents.isRemote,
    };
  }
}

/** The rows that say why nothing is listed, each with the command that helps. */
const NOTICES = {
  localAgentStopped: {
    id: 'notice:local-agent-stopped',
    message: 'The local agent is stopped. Click to start it.',
    icon: 'debug-stop',
    command: { command: 'serval.startLocalAgent', title: 'Start Local Agent' },
  },
  untrusted: {
    id: 'notice:untrusted',
    message: 'Restricted Mode: trust this workspace to start the local agent and see its jobs.',
    icon: 'shield',
    command: { command: 'workbench.trust.manage', title: 'Manage Workspace Trust' },
  },
} as const;

function notice(which: keyof typeof NOTICES): NoticeNode {
  return { kind: 'notice', ...NOTICES[which] };
}

function noVersionNotice(manifest: ManifestNode): NoticeNode {
  return {
    kind: 'notice',
    id: `notice:no-version:${manifest.fqName}`,
    message: 'No version stored: it cannot run. Click to publish one.',
    icon: 'cloud-upload',
    command: { command: 'serval.publish', title: 'Publish Job' },
    manifest,
  };
}

/** The agent row's description: whether it answers, as the health checks last saw it. */
function connectionState(node: AgentNode, health: AgentHealthState): string {
  switch (health.kind) {
    case 'ok':
      return node.isRemote ? 'connected' : hostOf(node.url);
    case 'failing':
    case 'refused':
      return 'not answering';
    case 'checking':
      return 'checking…';
    case 'stopped':
      return 'not running: starts on use';
    default:
      return node.isRemote ? '' : hostOf(node.url);
  }
}

function agentItem(node: AgentNode, health: AgentHealthState): vscode.TreeItem {
  const item = new vscode.TreeItem(node.isRemote ? hostOf(node.url) : 'Local agent', vscode.TreeItemCollapsibleState.Expanded);
  // Stable across restarts of the local agent (new port), so the view keeps its expansion state.
  item.id = node.isRemote ? `agent:${node.url}` : 'agent:local';
  item.contextValue = CONTEXT_VALUES.agent;
  const down = health.kind === 'failing' || health.kind === 'refused';
  item.iconPath = down
    ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
    : new vscode.ThemeIcon(node.isRemote ? 'remote' : 'vm');
  item.description = connectionState(node, health);
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(node.isRemote ? '**Remote agent**\n\n' : '**Local agent**, run by VS Code\n\n');
  tooltip.appendMarkdown('URL: ').appendText(node.url || 'none while it is not running');
  const jobs = node.jobNames.length;
  tooltip.appendMarkdown(`\n\nToken: ${tokenState(node)}\n\n${jobs} ${jobs === 1 ? 'job' : 'jobs'} stored`);
  if (down) tooltip.appendMarkdown('\n\n').appendText(health.message);
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
  item.contextValue = node.isEmpty ? CONTEXT_VALUES.emptyManifest : CONTEXT_VALUES.manifest;
  item.iconPath = node.isEmpty ? new vscode.ThemeIcon('package', new vscode.ThemeColor('disabledForeground')) : new vscode.ThemeIcon('package');
  item.description = node.isEmpty ? 'no version stored' : node.currentVersion;
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${node.fqName}**`);
  if (node.currentVersion) tooltip.appendMarkdown(` ${node.currentVersion}`);
  if (node.description) tooltip.appendMarkdown('\n\n').appendText(node.description);
  if (node.isEmpty) tooltip.appendMarkdown('\n\nNo version is stored: publish one to run it.');
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

/** An error row does what its message says on a click: set the token, or retry. */
function errorItem(node: ErrorNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
  item.id = 'error';
  item.contextValue = CONTEXT_VALUES.error;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
  item.command = node.needsToken
    ? { command: 'serval.setAgentToken', title: 'Set Agent Token…' }
    : { command: 'serval.refresh', title: 'Retry' };
  item.tooltip = `${node.message}\n\n${node.needsToken ? 'Click to set the token.' : 'Click to retry.'}`;
  return item;
}

function noticeItem(node: NoticeNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.contextValue = CONTEXT_VALUES.notice;
  item.iconPath = new vscode.ThemeIcon(node.icon);
  item.command = node.command;
  item.tooltip = `Click to run "${node.command.title}".`;
  return item;
}

function extensionsItem(node: ExtensionsNode): vscode.TreeItem {
  const item = new vscode.TreeItem('Extensions', vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `extensions:${node.agent.url}`;
  item.contextValue = CONTEXT_VALUES.extensions;
  item.iconPath = new vscode.ThemeIcon('extensions');
  item.description = String(node.extensions.length);
  item.tooltip = 'Extensions of this agent: a job that lists one in required_extensions links its exports.';
  return item;
}

function extensionItem(node: ExtensionNode): vscode.TreeItem {
  const { info } = node;
  const item = new vscode.TreeItem(info.name, vscode.TreeItemCollapsibleState.None);
  item.id = `extension:${node.parent.agent.url}:${info.name}`;
  item.contextValue = CONTEXT_VALUES.extension;
  item.iconPath = new vscode.ThemeIcon('plug');
  item.description = formatSize(info.size);
  const exports = info.exports.length > 0 ? info.exports.map((name) => `\`${name}\``).join(', ') : 'nothing';
  item.tooltip = new vscode.MarkdownString(`**${info.name}** exports ${exports}\n\n${info.integrity}`);
  return item;
}

/** The provider and its view, as the Ctx keeps them. */
export class JobsTree implements vscode.Disposable {
  readonly provider: JobsTreeProvider;
  readonly view: vscode.TreeView<JobsNode>;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly deps: JobsTreeDeps) {
    this.provider = new JobsTreeProvider(deps);
    this.view = vscode.window.createTreeView('serval.jobs', { treeDataProvider: this.provider, showCollapseAll: true });
    this.subscriptions = [
      this.provider,
      this.view,
      deps.agents.onDidChange(() => this.describeAgent()),
      // Health is polled only while someone looks at the agent.
      this.view.onDidChangeVisibility(({ visible }) => deps.health.watchWhile(visible)),
    ];
    this.describeAgent();
    deps.health.watchWhile(this.view.visible);
  }

  /** Shows the view and selects a version (after a publish). */
  async revealVersion(fqName: string, version: string): Promise<void> {
    await vscode.commands.executeCommand('serval.jobs.focus');
    const target = await this.provider.findVersion(fqName, version);
    if (target) await this.view.reveal(target, { select: true, focus: true, expand: true });
  }

  dispose(): void {
    this.deps.health.watchWhile(false);
    for (const subscription of this.subscriptions.reverse()) subscription.dispose();
  }

  private describeAgent(): void {
    this.view.description = this.deps.agents.isRemote ? this.deps.agents.remoteUrl : 'local agent';
  }
}
