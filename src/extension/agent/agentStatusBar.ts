import * as vscode from 'vscode';

import type { AgentHealthState } from './agentHealth';
import { Config } from '../config';
import type { Ctx } from '../ctx';
import { hostOf } from '../format';

/**
 * Which agent is in use and whether it answers; a click opens Switch Agent. Shown only in a
 * workspace with a job manifest, unless `serval.statusBar.enabled` is off.
 */
export function createAgentStatusBar(ctx: Ctx): void {
  const item = ctx.push(vscode.window.createStatusBarItem('serval.agent', vscode.StatusBarAlignment.Left, 10));
  item.name = 'Serval Agent';
  item.command = 'serval.switchAgent';
  const render = (): void => renderAgentStatus(item, ctx, ctx.health.state);
  const showOrHide = (): void => {
    if (ctx.workspaceJobs.hasJobManifest && ctx.config.statusBarEnabled) item.show();
    else item.hide();
  };
  ctx.push(
    ctx.health.onDidChange(render),
    ctx.agents.onDidChange(render),
    ctx.workspaceJobs.onDidChange(showOrHide),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (Config.affectsStatusBar(event)) showOrHide();
    }),
  );
  render();
  showOrHide();
  void ctx.health.check();
}

function renderAgentStatus(item: vscode.StatusBarItem, ctx: Ctx, health: AgentHealthState): void {
  const agent = ctx.agents.isRemote ? hostOf(ctx.agents.remoteUrl) : 'local';
  const { icon, state, warning } = describeHealth(health);
  item.text = `${icon} Serval: ${agent}`;
  item.backgroundColor = warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  const tooltip = new vscode.MarkdownString(`**Serval agent:** ${ctx.agents.isRemote ? ctx.agents.remoteUrl : 'local (run by VS Code)'}\n\n`);
  tooltip.appendText(state);
  tooltip.appendMarkdown('\n\nClick to switch agents.');
  item.tooltip = tooltip;
}

function describeHealth(health: AgentHealthState): { icon: string; state: string; warning: boolean } {
  switch (health.kind) {
    case 'ok':
      return { icon: '$(vm-active)', state: 'It answers, and accepts our requests.', warning: false };
    case 'checking':
      return { icon: '$(sync~spin)', state: 'Checking…', warning: false };
    case 'stopped':
      return { icon: '$(vm-outline)', state: 'Not running: it starts when a job is listed, published or run.', warning: false };
    case 'stoppedByUser':
      return { icon: '$(debug-stop)', state: 'Stopped: start it with "Serval: Start Local Agent".', warning: false };
    case 'refused':
      return { icon: '$(lock)', state: health.message, warning: true };
    case 'failing':
      return { icon: '$(warning)', state: health.message, warning: true };
    case 'unknown':
      return { icon: '$(vm)', state: 'Not checked yet.', warning: false };
  }
}
