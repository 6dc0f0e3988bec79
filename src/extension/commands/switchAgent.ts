import * as vscode from 'vscode';

import type { Ctx } from '../ctx';

const RECENT_URLS_KEY = 'serval.recentAgentUrls';
const MAX_RECENT_URLS = 5;

interface AgentChoice extends vscode.QuickPickItem {
  /** '' = the local agent; undefined = ask for a URL. */
  url?: string;
}

/** Serval: Switch Agent… (also the status bar item): writes `serval.agent.url`. */
export const switchAgent = (ctx: Ctx) => async () => {
  const picked = await vscode.window.showQuickPick(choices(ctx), {
    title: 'Switch Serval Agent',
    placeHolder: `In use: ${ctx.agents.isRemote ? ctx.agents.remoteUrl : 'the local agent'}`,
  });
  if (!picked) return;
  const url = picked.url ?? (await askForUrl());
  if (url === undefined) return;
  if (url !== '') await rememberUrl(ctx, url);
  await ctx.config.setAgentUrl(url);
};

function choices(ctx: Ctx): AgentChoice[] {
  const current = ctx.config.agentUrl;
  const recent = ctx.globalState.get<string[]>(RECENT_URLS_KEY, []);
  const inUse = (url: string): string | undefined => (url === current ? 'in use' : undefined);
  return [
    { label: '$(vm) Local agent', description: inUse(''), detail: 'Run by VS Code on this machine', url: '' },
    { label: '$(remote) Remote agent…', detail: 'Enter the URL of a running `serval agent`' },
    ...(recent.length > 0 ? [{ label: 'Recent', kind: vscode.QuickPickItemKind.Separator }] : []),
    ...recent.map((url) => ({ label: `$(history) ${url}`, description: inUse(url), url })),
  ];
}

async function askForUrl(): Promise<string | undefined> {
  const url = await vscode.window.showInputBox({
    title: 'Remote Serval Agent',
    prompt: 'URL of the agent, as `serval agent` prints it',
    placeHolder: 'http://build-box:8100',
    ignoreFocusOut: true,
    validateInput: validateAgentUrl,
  });
  return url?.trim().replace(/\/+$/, '');
}

export function validateAgentUrl(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:'
      ? undefined
      : 'Use an http:// or https:// URL, e.g. http://build-box:8100';
  } catch {
    return 'Enter a full URL, e.g. http://build-box:8100';
  }
}

async function rememberUrl(ctx: Ctx, url: string): Promise<void> {
  const recent = ctx.globalState.get<string[]>(RECENT_URLS_KEY, []);
  await ctx.globalState.update(RECENT_URLS_KEY, [url, ...recent.filter((other) => other !== url)].slice(0, MAX_RECENT_URLS));
}
