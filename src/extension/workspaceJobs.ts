import * as vscode from 'vscode';

import { setContext } from './agent/agents';
import { isManifestDocument, MANIFEST_FILE_NAME } from './manifestEditing/documents';

/** The context key package.json `when` clauses use: this workspace has a job manifest. */
export const HAS_JOB_MANIFEST = 'serval.hasJobManifest';

/**
 * Whether the workspace holds a job: a `manifest.toml`, or an open TOML file that names the
 * manifest schema on its first line. The status bar item, the editor's run button, the folder
 * menu entry and the manifest snippets appear only then, so a plain Rust or Python project with
 * its own TOML files sees nothing of Serval.
 */
export class WorkspaceJobs implements vscode.Disposable {
  private manifestFiles = false;
  private schemaDocuments = false;
  /** The value last given to the context key. */
  private last: boolean | undefined;
  private readonly changed = new vscode.EventEmitter<boolean>();
  private readonly subscriptions: vscode.Disposable[];
  /** Fires when `hasJobManifest` changes. */
  readonly onDidChange = this.changed.event;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/${MANIFEST_FILE_NAME}`, false, true, false);
    this.subscriptions = [
      this.changed,
      watcher,
      watcher.onDidCreate(() => this.setManifestFiles(true)),
      watcher.onDidDelete(() => void this.findManifestFiles()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.findManifestFiles()),
      vscode.workspace.onDidOpenTextDocument(() => this.findSchemaDocuments()),
      vscode.workspace.onDidCloseTextDocument(() => this.findSchemaDocuments()),
    ];
    this.findSchemaDocuments();
    void this.findManifestFiles();
  }

  get hasJobManifest(): boolean {
    return this.manifestFiles || this.schemaDocuments;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private async findManifestFiles(): Promise<void> {
    const found = await vscode.workspace.findFiles(`**/${MANIFEST_FILE_NAME}`, '**/node_modules/**', 1);
    this.setManifestFiles(found.length > 0);
  }

  private setManifestFiles(present: boolean): void {
    this.manifestFiles = present;
    this.publish();
  }

  private findSchemaDocuments(): void {
    this.schemaDocuments = vscode.workspace.textDocuments.some((document) => !document.isClosed && isManifestDocument(document));
    this.publish();
  }

  private publish(): void {
    const value = this.hasJobManifest;
    if (value === this.last) return;
    this.last = value;
    void setContext(HAS_JOB_MANIFEST, value);
    this.changed.fire(value);
  }
}
