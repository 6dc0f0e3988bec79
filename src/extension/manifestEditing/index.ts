/**
 * Manifest editing in VS Code: diagnostics, completion, hover, quick fixes, CodeLens and the
 * New Job Manifest command, all over the pure code in src/manifest.
 */
import * as vscode from 'vscode';
import { newManifest } from '../commands/newManifest';
import type { ExtensionInfo } from '../../api/contract';
import { type AgentExtensionsView, ManifestDiagnostics } from './diagnostics';
import { TOML_SELECTOR } from './documents';
import {
  ManifestCodeActionProvider,
  ManifestCodeLensProvider,
  ManifestCompletionProvider,
  ManifestHoverProvider,
} from './providers';

export function registerManifestEditing(ctx: {
  subscriptions: { push(...d: vscode.Disposable[]): unknown };
  log: vscode.LogOutputChannel;
  config: { codeLensEnabled: boolean };
  /** The connected agent's extensions and its name in messages (required_extensions checks, hovers). */
  agentExtensions?: () => Promise<readonly ExtensionInfo[]>;
  agents?: { label: string };
}): void {
  const listExtensions = ctx.agentExtensions?.bind(ctx);
  const agent: AgentExtensionsView | undefined = listExtensions && {
    extensions: listExtensions,
    label: () => ctx.agents?.label ?? 'The agent',
  };
  const diagnostics = new ManifestDiagnostics(ctx.log, agent);
  const codeLenses = new ManifestCodeLensProvider(() => ctx.config.codeLensEnabled);
  ctx.subscriptions.push(
    diagnostics,
    codeLenses,
    vscode.languages.registerCompletionItemProvider(
      TOML_SELECTOR,
      new ManifestCompletionProvider(),
      ...ManifestCompletionProvider.triggerCharacters,
    ),
    vscode.languages.registerHoverProvider(TOML_SELECTOR, new ManifestHoverProvider(agent)),
    vscode.languages.registerCodeActionsProvider(
      TOML_SELECTOR,
      new ManifestCodeActionProvider(diagnostics),
      ManifestCodeActionProvider.metadata,
    ),
    vscode.languages.registerCodeLensProvider(TOML_SELECTOR, codeLenses),
    vscode.commands.registerCommand('serval.newManifest', (folder?: vscode.Uri) =>
      newManifest(folder).catch((error: unknown) => {
        ctx.log.error('New Job Manifest failed:', error);
        void vscode.window.showErrorMessage(`Could not create the manifest: ${error instanceof Error ? error.message : String(error)}`);
      }),
    ),
  );
}
