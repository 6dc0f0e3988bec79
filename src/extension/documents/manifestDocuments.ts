import * as vscode from 'vscode';

import { NotFoundError } from '../../client/errors';
import type { Agents } from '../agent/agents';

/**
 * Stored manifests as read-only virtual documents: `serval-manifest:/<fq name>@<version>.toml`.
 * The `.toml` ending gives them the TOML language; the text is exactly what the agent stored
 * (`application/toml`), not a re-serialisation.
 */
export class ManifestDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly SCHEME = 'serval-manifest';

  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly agents: Agents) {}

  /**
   * VS Code keeps a virtual document's text until the document is closed: after a publish, a
   * delete or a switch of agent, the open ones must ask again or they show what was stored before:
   * those of `job`, or all of them.
   */
  refresh(job?: string): void {
    for (const document of vscode.workspace.textDocuments) {
      if (document.uri.scheme !== ManifestDocuments.SCHEME) continue;
      if (job === undefined || new URLSearchParams(document.uri.query).get('name') === job) this.changed.fire(document.uri);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }

  /** Without a version: the manifest stored last. */
  static uri(fqName: string, version?: string): vscode.Uri {
    const query = new URLSearchParams({ name: fqName });
    if (version) query.set('version', version);
    return vscode.Uri.from({
      scheme: ManifestDocuments.SCHEME,
      path: `/${fqName}${version ? `@${version}` : ''}.toml`,
      query: query.toString(),
    });
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const name = query.get('name') ?? '';
    const version = query.get('version') ?? undefined;
    const client = await this.agents.getClient();
    try {
      return await client.getManifest(name, { version, signal: abortSignalOf(token) });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      // A tab of a deleted job would keep showing what was stored: say that it is gone instead.
      const what = version ? `Version ${version} of ${name}` : name;
      return `# ${what} is no longer stored on ${this.agents.label}: it was deleted.\n# Publish it again to bring it back.\n`;
    }
  }
}

/** Bridges a VS Code cancellation token to the AbortSignal the client takes. */
export function abortSignalOf(token: vscode.CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}
