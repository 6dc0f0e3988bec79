import * as vscode from 'vscode';

import type { JobLimit } from '../../client/types';

/** What the output document of a run shows, said above its first line. */
export interface RunSummary {
  job: string;
  version?: string;
  /** The agent sends stdout when the job exited with 0, else stderr. */
  stream: 'stdout' | 'stderr';
  exitCode: number | undefined;
  durationMs?: number;
  trap?: string;
  limit?: JobLimit;
  failed: boolean;
}

/**
 * The output of job runs as read-only virtual documents, one per job:
 * `serval-output:/<fq name> (output)`. A re-run replaces the text and fires `onDidChange`, so an
 * open editor updates in place instead of piling up tabs. The text is exactly what the job wrote;
 * which stream it is, the exit code and the duration are a CodeLens above it (`summaryOf`).
 */
export class OutputDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly SCHEME = 'serval-output';

  private readonly texts = new Map<string, string>();
  private readonly summaries = new Map<string, RunSummary>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  static uri(fqName: string): vscode.Uri {
    return vscode.Uri.from({ scheme: OutputDocuments.SCHEME, path: `/${fqName} (output)` });
  }

  /** Sets the text shown for a job and returns the document's URI. */
  set(fqName: string, text: string, summary?: RunSummary): vscode.Uri {
    const uri = OutputDocuments.uri(fqName);
    this.texts.set(uri.toString(), text);
    if (summary) this.summaries.set(uri.toString(), summary);
    this.changed.fire(uri);
    return uri;
  }

  /** What the document shows: which job, stream, exit code, duration. */
  summaryOf(uri: vscode.Uri): RunSummary | undefined {
    return this.summaries.get(uri.toString());
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  dispose(): void {
    this.changed.dispose();
  }
}
