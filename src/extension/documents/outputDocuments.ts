import * as vscode from 'vscode';

/**
 * The output of job runs as read-only virtual documents, one per job:
 * `serval-output:/<fq name> (output)`. A re-run replaces the text and fires `onDidChange`, so an
 * open editor updates in place instead of piling up tabs.
 */
export class OutputDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly SCHEME = 'serval-output';

  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  static uri(fqName: string): vscode.Uri {
    return vscode.Uri.from({ scheme: OutputDocuments.SCHEME, path: `/${fqName} (output)` });
  }

  /** Sets the text shown for a job and returns the document's URI. */
  set(fqName: string, text: string): vscode.Uri {
    const uri = OutputDocuments.uri(fqName);
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  dispose(): void {
    this.changed.dispose();
  }
}
