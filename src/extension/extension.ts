import * as vscode from 'vscode';

import { createAgentStatusBar } from './agent/agentStatusBar';
import { setContext } from './agent/agents';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { EDITOR_HOOKS, TestHooks, exposeOutcomesOnContext } from './hooks';
import { registerManifestEditing } from './manifestEditing';
import { registerJobTests, type JobTestController } from './testing/jobTestController';

/** What other extensions (and tests) get from `extensions.getExtension('serval.serval-vscode').exports`. */
export interface ServalApi {
  /** The agent in use; the embedded one is started if needed. */
  getAgent(): Promise<{ url: string; token?: string }>;
}

/** The API plus the context and the test hooks, for the integration tests: not a stable interface. */
export interface ServalTestingApi extends ServalApi {
  readonly ctx: Ctx;
  /** Set when VS Code runs the extension for tests (`ExtensionMode.Test`). */
  readonly hooks: TestHooks | undefined;
  /** The Test Explorer's job tests. */
  readonly jobTests: JobTestController;
}

export async function activate(context: vscode.ExtensionContext): Promise<ServalTestingApi> {
  const hooks = context.extensionMode === vscode.ExtensionMode.Test ? new TestHooks() : undefined;
  const ctx = new Ctx(context, hooks ?? EDITOR_HOOKS);
  if (hooks) exposeOutcomesOnContext(ctx, hooks);
  context.subscriptions.push(ctx);
  let jobTests: JobTestController;
  try {
    createAgentStatusBar(ctx);
    registerCommands(ctx);
    registerManifestEditing(ctx);
    jobTests = registerJobTests(ctx);
    await setContext('serval.active', true);
  } catch (error) {
    // A half-activated extension is confusing: say so, with the details in the log.
    const message = error instanceof Error ? error.message : String(error);
    ctx.log.error(`Activation failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
    void vscode.window.showErrorMessage(`Serval failed to start: ${message}`, 'Show Log').then((choice) => {
      if (choice === 'Show Log') ctx.log.show();
    });
    throw error;
  }
  ctx.log.info(`Serval ${context.extension.packageJSON.version as string} activated; agent: ${ctx.agents.label}`);
  return {
    getAgent: async () => {
      const { url, token } = await ctx.agents.getAgent();
      return { url, token };
    },
    ctx,
    hooks,
    jobTests,
  };
}

export function deactivate(): void {
  // Everything, the local agent included, is stopped by disposing the Ctx (in context.subscriptions).
}
